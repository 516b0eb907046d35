import type { Request } from 'autocannon';

// Request sets for the directory benchmarks. Deterministic (seeded PRNG), so two runs send the same
// requests, and pre-built, so the load generator encodes each only once.

export const ADMIN_AUTH = `Basic ${Buffer.from('Admin:admin').toString('base64')}`;

const FIRST = ['Анна', 'Иван', 'Мария', 'Пётр', 'Елена', 'Олег', 'Ольга', 'Сергей', 'Наталья', 'Дмитрий'];
const LAST = ['Иванова', 'Смирнов', 'Кузнецова', 'Попов', 'Васильева', 'Петров', 'Соколова', 'Михайлов', 'Новикова', 'Фёдоров'];

/** mulberry32: tiny, fast, good enough to spread ids. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ClientInput {
  firstName: string;
  lastName: string;
  middleName: null;
  birthDate: string;
  available: boolean;
  email: string;
  phone: string;
  socialMedia: { telegram: string };
}

/** A realistic 003-style client: Cyrillic names, contacts, a birth date and a JSON field. */
export function clientInput(n: number, random: () => number): ClientInput {
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)];
  const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
  return {
    firstName: pick(FIRST),
    lastName: pick(LAST),
    middleName: null,
    birthDate: `19${60 + Math.floor(random() * 40)}-0${1 + Math.floor(random() * 9)}-${day}`,
    available: random() > 0.1,
    email: `client${n}@example.com`,
    phone: `+7900${String(n).padStart(7, '0')}`,
    socialMedia: { telegram: `@client${n}` },
  };
}

export function addClientRequests(count: number, seed: number): Request[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i) => ({
    method: 'POST',
    path: '/clients/add',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify(clientInput(seed * 1_000_000 + i, random)),
  }));
}

/** GET /clients/:id over `count` ids drawn uniformly from [minId, maxId]. */
export function getClientRequests(minId: number, maxId: number, count: number, seed: number): Request[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => ({
    method: 'GET',
    path: `/clients/${minId + Math.floor(random() * (maxId - minId + 1))}`,
    headers: { authorization: ADMIN_AUTH },
  }));
}

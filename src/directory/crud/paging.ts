import type { FastifyReply } from 'fastify';
import type { Item } from '../crud/entity.js';

export interface Page {
  items: Item[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * Sends a page for every list route: a bare JSON array as in 003,
 * with `X-Total-Count` and a `Link: rel="next"` header while more items remain.
 */
export function sendPage(url: string, reply: FastifyReply, page: Page): Item[] {
  reply.header('x-total-count', String(page.total));
  if (page.offset + page.items.length < page.total) {
    const next = new URL(url, 'http://hub');
    next.searchParams.set('offset', String(page.offset + page.limit));
    next.searchParams.set('limit', String(page.limit));
    next.searchParams.delete('page');
    next.searchParams.delete('size');
    reply.header('link', `<${next.pathname}${next.search}>; rel="next"`);
  }
  return page.items;
}

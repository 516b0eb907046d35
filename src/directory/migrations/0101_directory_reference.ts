import type { Db, ModuleMigration } from '../../platform/db/index.js';

/** The reference data of 003, with the ids the document shows (clients and integrations rely on them). */
export const COMMUNICATION_TYPES = [
  ['Массовая коммуникация', 'Используется для массовой коммуникации с клиентами'],
  ['Персональная коммуникация', 'Используется для персональной коммуникации с клиентом'],
  ['Информационная коммуникация', 'Используется для информирования клиентов'],
  ['Опрос', 'Используется для опроса настроений клиента'],
  ['Коммерческий опрос', 'Используется для опроса настроений клиента с коммерческой целью'],
  ['Сервисная коммуникация', 'Используется для сервисной коммуникации с клиентами'],
] as const;

export const SEND_CHANNEL_TYPES = [
  ['SMS', 'Отправка короткого текстового сообщения на телефон клиента', 'sms'],
  ['Messenger', 'Отправка короткого текстового сообщения в Messenger клиента', 'messenger'],
  ['Email', 'Отправка электронного письма', 'email'],
  ['Push', 'Отправка PUSH сообщения', 'push'],
  ['Социальные сети', 'Отправка сообщения в социальной сети клиента', 'social'],
] as const;

export const BOOKING_STATUS_TYPES = [
  ['Забронирован', 'Забронирован на весь лимит времени.'],
  ['Бронь приостановлена', 'Бронь временно приостановлена. Возможно возобновление брони до окончания лимита времени.'],
  ['Бронь отменена', 'Бронь отменена. Возобновление невозможно.'],
] as const;

export const referenceDataMigration: ModuleMigration = {
  name: '0101_directory_reference',
  async up(db: Db) {
    // One row at a time so ids come out 1..n in the listed order on both databases.
    for (const [name, description] of COMMUNICATION_TYPES) await db.insertInto('communication_types').values({ name, description }).execute();
    for (const [name, description, kind] of SEND_CHANNEL_TYPES) await db.insertInto('send_channel_types').values({ name, description, kind }).execute();
    for (const [name, description] of BOOKING_STATUS_TYPES) await db.insertInto('booking_status_types').values({ name, description }).execute();
  },
};

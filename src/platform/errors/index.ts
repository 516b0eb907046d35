export { ERRORS, AppError, notFound, type ErrorCode } from './registry.js';

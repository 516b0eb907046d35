import { directoryMigration } from './migrations/0100_directory.js';
import { referenceDataMigration } from './migrations/0101_directory_reference.js';
import { contactValuesMigration } from './migrations/0102_directory_contact_values.js';

export { registerDirectoryRoutes } from './routes/index.js';
export { createDirectoryServices, ENTITIES, type DirectoryServices } from './registry.js';
export { createPrincipalStore } from './principal-store.js';
export { seedBootstrap, seedDemo, DEFAULT_ADMIN, adminHasDefaultPassword } from './seed.js';
export const directoryMigrations = [directoryMigration, referenceDataMigration, contactValuesMigration];

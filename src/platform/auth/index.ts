export { hashPassword, verifyPassword } from './passwords.js';
export { Authenticator, type PrincipalStore, type AuthOptions } from './authenticator.js';
export {
  PERMISSIONS,
  ALL_PERMISSIONS,
  isPermission,
  can,
  canSend,
  canManageEmployeeIn,
  type Permission,
  type Principal,
  type SendGrant,
} from './permissions.js';

// Values with rules of their own (phones, emails, Russian company identifiers): checked and written one
// way wherever the directory stores them — entity fields and custom parameters alike.
export { normalisePhone, PHONE_HINT, DEFAULT_PHONE_REGION } from './phone.js';
export { normaliseEmail } from './email.js';
export { innProblem, kppProblem, ogrnProblem } from './ru-identifiers.js';
export { checkEmail, checkPhone, type CheckedValue } from './checked.js';

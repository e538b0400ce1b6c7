// camelCase domain → snake_case REST bodies (SPEC section 6). The snake_case projection of a
// customer lives below the domain (projection/snake-case.ts) because webhook payloads send the
// very same shape (SPEC section 10); this module keeps the REST names.
export {
  renderAml,
  renderCustomer,
  type SnakeCaseAml as RestAml,
  type SnakeCaseCustomer as RestCustomer,
} from '../projection/snake-case.js';

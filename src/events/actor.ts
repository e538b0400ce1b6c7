// Who made a change (SPEC section 11): every customer event records its actor. Surfaces turn
// the caller's verified key into an actor and hand it to the domain as data; the domain never
// sees the principal (nor, of course, the key itself).
import { ActorKind } from '../generated/prisma/enums.js';

export { ActorKind };

/** The actor of a change: an API key (id and label at the time), the system, or unknown (before the audit trail). */
export type Actor =
  | { kind: typeof ActorKind.API_KEY; keyId: string; keyLabel: string | null }
  | { kind: typeof ActorKind.SYSTEM | typeof ActorKind.UNKNOWN; keyId: null; keyLabel: null };

/** Background work of the gateway itself (no API key behind it). */
export const SYSTEM_ACTOR: Actor = { kind: ActorKind.SYSTEM, keyId: null, keyLabel: null };

/** The actor of a request made with a verified API key. */
export function keyActor(key: { keyId: string; keyLabel: string | null }): Actor {
  return { kind: ActorKind.API_KEY, keyId: key.keyId, keyLabel: key.keyLabel };
}

/** Rebuilds an actor from the event columns (raw queries select them as text). */
export function actorFromColumns(kind: string, keyId: string | null, keyLabel: string | null): Actor {
  if (kind === ActorKind.API_KEY && keyId !== null) return { kind: ActorKind.API_KEY, keyId, keyLabel };
  return { kind: kind === ActorKind.SYSTEM ? ActorKind.SYSTEM : ActorKind.UNKNOWN, keyId: null, keyLabel: null };
}

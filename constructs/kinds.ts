import type { RegisteredKind } from '../pipeline/schemas.js';

/**
 * Kinds the library emits that no kubernetes-models package covers. Each comes with a schema
 * check generated from its upstream CRD (see imports/), or without one for a stated reason.
 */
export const registeredKinds: readonly RegisteredKind[] = [];

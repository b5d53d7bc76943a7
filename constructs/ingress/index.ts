import type { ClusterPolicy } from '../../framework/cluster.js';
import { ingressPolicy } from './policies.js';

export { ingressReferences } from './references.js';

/** The cluster policies a cluster using these ingress constructs should run. */
export const policies: readonly ClusterPolicy[] = [ingressPolicy];

import { defineCluster } from '../pipeline/cluster.js';
import { certManagerApp } from './cert-manager.js';
import { parseInventory } from './inventory.js';

/** The k8s-235 homelab: one entry per ArgoCD Application, in dist/k8s-235/<app>/. */
export default defineCluster({
  parseInventory: (data) => parseInventory(data, 'k8s-235'),
  apps: () => [certManagerApp],
});

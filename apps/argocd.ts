import { ArgoCd } from '../constructs/gitops/argocd.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { certManagerApp } from './cert-manager.js';
import { traefikApp } from './traefik.js';

/** GitLab group whose members get ArgoCD's operators role. */
const OPERATORS_GROUP = 'tdude';

/**
 * ArgoCD itself (the upstream HA install, pinned) with KSOPS in the repo server, Dex signing in
 * through GitLab, read-only by default and an operators role for the operator's group. ArgoCD
 * syncs this folder too, so it manages itself after the bootstrap (docs/bootstrap.md).
 */
export const argocdApp: AppDefinition<ClusterInventory> = {
  name: 'argocd',
  namespace: 'argocd',
  // Its Ingress needs Traefik and a certificate from cert-manager.
  dependsOn: [certManagerApp, traefikApp],
  // ArgoCD's CRDs are too large for client-side apply.
  serverSideApply: true,
  build(chart, inventory) {
    new ArgoCd(chart, 'argocd', {
      url: inventory.gitops.url,
      dex: { gitlab: { baseURL: inventory.sso.oidcIssuerUrl, clientID: inventory.sso.gitlabApplicationId, groups: [OPERATORS_GROUP] } },
      rbac: { operatorGroups: [OPERATORS_GROUP] },
      // The GitLab client secret and webhook token, merged into the upstream argocd-secret.
      secretFile: `secrets/${inventory.name}/argocd/argocd-secret.sops.yaml`,
      sopsAgeRecipient: inventory.gitops.sopsAgeRecipient,
    });
  },
};

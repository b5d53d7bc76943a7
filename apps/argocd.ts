import { ArgoCd } from '../constructs/gitops/argocd.js';
import { CONTROL_PLANE_ENDPOINTS_KIND } from '../constructs/monitoring/control-plane.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { certManagerApp } from './cert-manager.js';
import { monitoringCrdsApp } from './monitoring-crds.js';
import { traefikApp } from './traefik.js';

/**
 * ArgoCD itself (the upstream HA install, pinned) with KSOPS in the repo server, Dex signing in
 * through GitLab, read-only by default and an operators role for the inventory's sso.operatorGroups. ArgoCD
 * syncs this folder too, so it manages itself after the bootstrap (docs/bootstrap.md).
 */
export const argocdApp: AppDefinition<ClusterInventory> = {
  name: 'argocd',
  namespace: 'argocd',
  // Its Ingress needs Traefik and a certificate from cert-manager.
  dependsOn: [monitoringCrdsApp, certManagerApp, traefikApp],
  // ArgoCD's CRDs are too large for client-side apply.
  serverSideApply: true,
  build(chart, inventory) {
    new ArgoCd(chart, 'argocd', {
      url: inventory.gitops.url,
      issuer: chart.use(certManagerApp).letsEncrypt,
      dex: {
        gitlab: { baseURL: inventory.sso.oidcIssuerUrl, clientID: inventory.sso.gitlabApplicationId, groups: inventory.sso.operatorGroups },
      },
      rbac: { operatorGroups: inventory.sso.operatorGroups },
      // The GitLab client secret and webhook token, merged into the upstream argocd-secret.
      secretFile: chart.sopsFile('argocd-secret'),
      sopsAgeRecipient: inventory.gitops.sopsAgeRecipient,
      // The install excludes EndpointSlices; the monitoring app's slices must be synced.
      syncExcludedKinds: [CONTROL_PLANE_ENDPOINTS_KIND],
    });
  },
};

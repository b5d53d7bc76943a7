import { GitOpsApplications } from '../constructs/gitops/applications.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { argocdApp } from './argocd.js';

/** The root of the app-of-apps: ArgoCD's AppProject and one Application per app of the cluster, itself included. */
export const gitopsApp: AppDefinition<ClusterInventory> = {
  name: 'gitops',
  namespace: 'argocd',
  // Applications and the AppProject are custom resources: ArgoCD's CRDs come with the argocd app.
  dependsOn: [argocdApp],
  build(chart, inventory, cluster) {
    new GitOpsApplications(chart, 'applications', {
      cluster,
      rootApp: 'gitops',
      repoURL: inventory.gitops.repoURL,
      targetRevision: inventory.gitops.targetRevision,
    });
  },
};

import { workloadReferences } from '../constructs/core/references.js';
import { workloadPolicy } from '../constructs/core/workload-policy.js';
import { gitOpsPolicy, sopsDecryptionPolicy } from '../constructs/gitops/policies.js';
import { ingressReferences } from '../constructs/ingress/index.js';
import { createMetricsTargetPolicy } from '../constructs/monitoring/policies.js';
import { metricsAddon } from '../constructs/monitoring/service-monitor.js';
import { loadBalancerAddressAddon } from '../constructs/network/lb-ipam.js';
import { defineCluster } from '../framework/cluster.js';
import { referencePolicy } from '../framework/references.js';
import { parseInventory } from '../inventory/schema.js';
import { argocdApp } from './argocd.js';
import { certManagerApp } from './cert-manager.js';
import { ciliumApp } from './cilium.js';
import { democraticCsiApp } from './democratic-csi.js';
import { gitopsApp } from './gitops.js';
import { monitoringApp } from './monitoring.js';
import { monitoringCrdsApp } from './monitoring-crds.js';
import { traefikApp } from './traefik.js';

const NAME = 'k8s-235';
const apps = [monitoringCrdsApp, ciliumApp, certManagerApp, traefikApp, argocdApp, democraticCsiApp, monitoringApp, gitopsApp];

/** The k8s-235 homelab: one entry per ArgoCD Application, in dist/k8s-235/<app>/. */
export default defineCluster({
  parseInventory: (data) => parseInventory(data, NAME),
  apps: () => apps,
  // Prometheus (kube-prometheus) scrapes every metrics endpoint the constructs declare; the
  // inventory's fixed LoadBalancer addresses go to the Services of any app.
  addons: (inventory) => [metricsAddon, loadBalancerAddressAddon(inventory.network.loadBalancer?.services ?? {})],
  // The inventory marks its example values; SOPS files encrypted for an example key follow.
  examples: (inventory) => inventory.examples,
  // The ingress and storage checks come with their constructs (registerPolicies); these are the
  // cluster's own choices.
  policies: (inventory) => [
    gitOpsPolicy({
      namespaceGrants: [
        {
          app: democraticCsiApp,
          namespace: 'kube-system',
          reason:
            "the upstream snapshot-controller manifests (external-snapshotter v8.2.1) install into kube-system, where the cluster's controllers run",
        },
        {
          app: ciliumApp,
          namespace: 'kube-system',
          reason: "Cilium's chart installs its agent, operator and Hubble there, and the BGP control plane reads peer passwords from there",
        },
        {
          app: monitoringApp,
          namespace: 'kube-system',
          reason:
            "prometheus-adapter (kube-prometheus v0.18.0) binds the extension-apiserver-authentication-reader Role, which exists only in kube-system; the Services of the hosts' controller-manager and scheduler are where kube-prometheus's monitors look",
        },
      ],
    }),
    sopsDecryptionPolicy({ ageRecipient: inventory.gitops.sopsAgeRecipient }),
    // An app using what another app makes syncs after it (StorageClasses: the storage policy).
    referencePolicy([ingressReferences, workloadReferences]),
    createMetricsTargetPolicy({
      // What kube-prometheus's control-plane ServiceMonitors select, which no app renders.
      externalServices: [
        {
          namespace: 'default',
          name: 'kubernetes',
          labels: { component: 'apiserver', provider: 'kubernetes' },
          ports: ['https'],
          reason: "the API server's own Service",
        },
        {
          namespace: 'kube-system',
          name: 'kubelet',
          labels: { 'app.kubernetes.io/name': 'kubelet' },
          ports: ['https-metrics', 'http-metrics', 'cadvisor'],
          reason: 'maintained by prometheus-operator (--kubelet-service=kube-system/kubelet)',
        },
        {
          namespace: 'kube-system',
          name: 'kube-dns',
          labels: { 'k8s-app': 'kube-dns' },
          ports: ['dns', 'dns-tcp', 'metrics'],
          reason: 'the CoreDNS Service (k8s-app: kube-dns), which no app of this composition renders',
        },
      ],
    }),
    workloadPolicy,
  ],
});

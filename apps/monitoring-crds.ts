import { PrometheusOperatorCrds } from '../constructs/monitoring/kube-prometheus.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';

/**
 * prometheus-operator's CRDs (kube-prometheus `manifests/setup/`), in an app of their own that
 * syncs first: every app rendering a ServiceMonitor or PrometheusRule depends on this one, not on
 * the monitoring stack, whose UIs need Traefik (which renders ServiceMonitors itself).
 */
export const monitoringCrdsApp: AppDefinition<ClusterInventory> = {
  name: 'monitoring-crds',
  // The CRDs are too large for client-side apply.
  serverSideApply: true,
  build(chart) {
    new PrometheusOperatorCrds(chart, 'prometheus-operator-crds');
  },
};

import { describe, expect, it } from 'vitest';
import { CERT_MANAGER_RESOURCES, CERT_MANAGER_VERSION, CertManager } from '../../constructs/certificates/cert-manager.js';
import { renderScope } from '../helpers/render.js';

function render(props: ConstructorParameters<typeof CertManager>[2] = {}) {
  const { built: certManager, messages } = renderScope((chart) => new CertManager(chart, 'cert-manager', props), {
    app: 'cert-manager',
  });
  return {
    certManager,
    values: certManager.chart.entry.valuesInline as Record<string, Record<string, unknown>>,
    errors: messages,
  };
}

describe('CertManager', () => {
  it('pins the chart, installs its CRDs and keeps leader election in its own namespace', () => {
    const { certManager, values } = render();
    expect(certManager.chart.entry).toMatchObject({
      repo: 'https://charts.jetstack.io',
      name: 'cert-manager',
      version: CERT_MANAGER_VERSION,
      includeCRDs: true,
      namespace: 'cert-manager',
    });
    expect(values.crds).toEqual({ enabled: true, keep: true });
    expect(values.global).toEqual({ leaderElection: { namespace: 'cert-manager' } });
    expect(values.prometheus).toEqual({ enabled: true, servicemonitor: { enabled: false } });
  });

  it('checks DNS-01 records against public resolvers', () => {
    expect(render().values.extraArgs).toEqual([
      '--dns01-recursive-nameservers-only',
      '--dns01-recursive-nameservers=1.1.1.1:53,9.9.9.9:53',
    ]);
    expect(render({ dns01RecursiveNameservers: [] }).values.extraArgs).toEqual([]);
  });

  it('deep-merges extra values without losing the ones it sets', () => {
    const { values } = render({ extraValues: { webhook: { timeoutSeconds: 30 } } });
    expect(values.webhook).toEqual({
      replicaCount: 2,
      podDisruptionBudget: { enabled: true, minAvailable: 1 },
      resources: CERT_MANAGER_RESOURCES.webhook,
      timeoutSeconds: 30,
    });
  });

  it('disables disruption budgets for a single replica and rejects floating versions', () => {
    expect(render({ replicas: 1 }).values.podDisruptionBudget).toEqual({ enabled: false, minAvailable: 1 });
    expect(render({ version: '1.x' }).errors).toEqual([
      'Helm chart cert-manager: version "1.x" is not an exact release (expected e.g. 1.2.3 or v1.2.3; no ranges, "latest", branches or HEAD)',
    ]);
  });
});

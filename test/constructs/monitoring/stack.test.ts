import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { certManagerApp } from '../../../apps/cert-manager.js';
import { democraticCsiApp } from '../../../apps/democratic-csi.js';
import { monitoringApp } from '../../../apps/monitoring.js';
import { monitoringCrdsApp } from '../../../apps/monitoring-crds.js';
import { traefikApp } from '../../../apps/traefik.js';
import { AlertmanagerConfiguration, AlertReceiver } from '../../../constructs/monitoring/alerting.js';
import { metricsTargetPolicy } from '../../../constructs/monitoring/policies.js';
import { AlertmanagerServer, PrometheusServer } from '../../../constructs/monitoring/prometheus.js';
import { monitoringStackPolicy } from '../../../constructs/monitoring/stack-policy.js';
import type { PolicyObject } from '../../../framework/cluster.js';
import { formatProblem, type Manifest } from '../../../framework/model.js';
import { parseInventory } from '../../../inventory/schema.js';
import { projectRoot } from '../../helpers/io.js';
import { renderApp, renderScope } from '../../helpers/render.js';

const inventoryData = () => JSON.parse(readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8'));
const inventory = parseInventory(inventoryData(), 'k8s-235');
const APPS = [monitoringCrdsApp, certManagerApp, traefikApp, democraticCsiApp, monitoringApp];

const object = (manifest: Manifest, path = `lab/monitoring/${String(manifest.kind)}`): PolicyObject => ({
  app: 'monitoring',
  manifest,
  origin: { constructPath: path },
});

describe('the monitoring app', () => {
  const rendered = renderApp(APPS, { inventory });

  it('renders the typed Prometheus, Alertmanager and routing, with no problem', () => {
    expect(rendered.problems).toEqual([]);
    const prometheus = rendered.get('Prometheus', 'k8s') as { spec: Record<string, unknown> };
    expect(prometheus.spec.replicas).toBe(2);
    expect(prometheus.spec.retention).toBe('30d');
    expect(prometheus.spec.storage).toEqual({
      volumeClaimTemplate: {
        spec: { storageClassName: 'freenas-iscsi-csi', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } } },
      },
    });
    // Every namespace: empty selectors, and discovery granted cluster-wide.
    for (const field of ['serviceMonitor', 'podMonitor', 'probe', 'rule', 'scrapeConfig']) {
      expect(prometheus.spec[`${field}Selector`]).toEqual({});
      expect(prometheus.spec[`${field}NamespaceSelector`]).toEqual({});
    }
    const binding = rendered.get('ClusterRoleBinding', 'prometheus-k8s-discovery') as { subjects: unknown[] };
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus-k8s', namespace: 'monitoring' }]);
    const alertmanager = rendered.get('Alertmanager', 'main') as { spec: Record<string, unknown> };
    expect(alertmanager.spec.replicas).toBe(3);
    expect(alertmanager.spec.alertmanagerConfiguration).toEqual({ name: 'main' });
    const config = rendered.get('AlertmanagerConfig', 'main') as { spec: { receivers: { name: string }[]; inhibitRules: unknown[] } };
    expect(config.spec.receivers.map((receiver) => receiver.name)).toEqual(['null', 'discord', 'matrix']);
    expect(config.spec.inhibitRules).toHaveLength(3);
  });

  it('gives the Matrix bridge the receiver name the operator generates, and keeps secrets in SOPS files', () => {
    const bridge = rendered.get('Deployment', 'matrix-alertmanager') as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
    };
    const env = bridge.spec.template.spec.containers[0]?.env ?? [];
    expect(env.find((variable) => variable.name === 'MATRIX_ROOMS')?.value).toBe('monitoring/main/matrix/!EXAMPLEroom:example.org');
    expect(env.find((variable) => variable.name === 'MATRIX_TOKEN')?.valueFrom).toEqual({
      secretKeyRef: { name: 'matrix-alertmanager', key: 'MATRIX_TOKEN' },
    });
    expect(rendered.app.encryptedFiles.map((file) => file.entry.source).sort()).toEqual([
      'secrets/lab/monitoring/alertmanager-discord.sops.yaml',
      'secrets/lab/monitoring/grafana-config.sops.yaml',
      'secrets/lab/monitoring/grafana-datasources.sops.yaml',
      'secrets/lab/monitoring/grafana-gitlab.sops.yaml',
      'secrets/lab/monitoring/matrix-alertmanager.sops.yaml',
    ]);
  });

  it('lets only Alertmanager reach the bridges, and Traefik reach the UIs', () => {
    const allow = rendered.get('NetworkPolicy', 'alertmanager-discord-from-alertmanager-main') as { spec: Record<string, unknown> };
    expect(allow.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'alertmanager-discord', 'app.kubernetes.io/instance': 'alertmanager-discord' },
    });
    expect(JSON.stringify(allow.spec.ingress)).toContain('"app.kubernetes.io/name":"alertmanager"');
    // An Alertmanager upgrade must not cut notifications: its version label is not part of the selector.
    expect(JSON.stringify(allow.spec.ingress)).not.toContain('app.kubernetes.io/version');
    expect(rendered.find('NetworkPolicy', 'alertmanager-discord-deny-ingress')).toBeDefined();
    for (const name of ['grafana', 'prometheus', 'alertmanager']) {
      const policy = rendered.get('NetworkPolicy', `${name}-from-ingress-controller`) as { spec: { ingress: unknown[] } };
      expect(JSON.stringify(policy.spec.ingress)).toContain('"kubernetes.io/metadata.name":"traefik"');
    }
    const hosts = rendered.all('Ingress').map((ingress) => (ingress as { spec: { rules: { host: string }[] } }).spec.rules[0]?.host);
    expect(hosts.sort()).toEqual(['alertmanager.tdude.co', 'monitoring.tdude.co', 'prometheus.monitoring.tdude.co']);
  });

  it('signs Grafana in through GitLab: the operator groups are Admins, nobody else signs in', () => {
    const patch = rendered.app.patches.find((entry) => entry.target.name === 'grafana');
    const env = JSON.stringify(patch?.patch);
    expect(env).toContain('"name":"GF_AUTH_GITLAB_ALLOWED_GROUPS","value":"tdude"');
    expect(env).toContain(`"value":"(contains(groups[*], 'tdude')) && 'Admin' || 'Viewer'"`);
    expect(env).toContain(
      '"name":"GF_AUTH_GITLAB_CLIENT_SECRET","valueFrom":{"secretKeyRef":{"name":"grafana-gitlab","key":"GF_AUTH_GITLAB_CLIENT_SECRET"}}',
    );
    expect(env).toContain('"name":"GF_SERVER_ROOT_URL","value":"https://monitoring.tdude.co/"');
    // No password logins at all: the hidden form leaves basic auth (and admin/admin) on otherwise.
    expect(env).toContain('"name":"GF_AUTH_DISABLE_LOGIN_FORM","value":"true"');
    expect(env).toContain('"name":"GF_AUTH_BASIC_ENABLED","value":"false"');
  });

  it('keeps Discord messages within its limits and restarts a Matrix bridge that never started listening', () => {
    const config = rendered.get('AlertmanagerConfig', 'main') as {
      spec: {
        receivers: { name: string; webhookConfigs?: { maxAlerts?: number }[] }[];
        route: { routes: { receiver: string; groupBy?: string[] }[] };
      };
    };
    const discord = config.spec.receivers.find((receiver) => receiver.name === 'discord');
    expect(discord?.webhookConfigs?.[0]?.maxAlerts).toBe(20);
    expect(config.spec.route.routes.find((route) => route.receiver === 'discord')?.groupBy).toEqual(['namespace', 'alertname']);
    const matrix = rendered.get('Deployment', 'matrix-alertmanager') as {
      spec: { template: { spec: { containers: { livenessProbe?: unknown }[] } } };
    };
    expect(matrix.spec.template.spec.containers[0]?.livenessProbe).toMatchObject({ tcpSocket: { port: 'http' } });
  });

  it("points kube-prometheus's control-plane monitors at the hosts' controller-manager and scheduler", () => {
    for (const [name, port] of [
      ['kube-controller-manager', 10257],
      ['kube-scheduler', 10259],
    ] as const) {
      const service = rendered.get('Service', name, 'kube-system') as {
        metadata: { labels: Record<string, string> };
        spec: Record<string, unknown>;
      };
      expect(service.metadata.labels['app.kubernetes.io/name']).toBe(name);
      expect(service.spec).toMatchObject({ clusterIP: 'None', ports: [{ name: 'https-metrics', port }] });
      expect(service.spec.selector).toBeUndefined();
      const slice = rendered.get('EndpointSlice', `${name}-ipv4`, 'kube-system') as {
        metadata: { labels: Record<string, string> };
        endpoints: { addresses: string[] }[];
      };
      expect(slice.metadata.labels['kubernetes.io/service-name']).toBe(name);
      expect(slice.endpoints.flatMap((endpoint) => endpoint.addresses)).toEqual(inventory.hosts.map((host) => host.ipv4));
    }
    // Their monitors come from kube-prometheus again, and their alerts are routed like any other.
    const resources = rendered.app.resources.join('\n');
    expect(resources).toContain('kubernetesControlPlane-serviceMonitorKubeControllerManager.yaml');
    expect(resources).toContain('kubernetesControlPlane-serviceMonitorKubeScheduler.yaml');
    expect(JSON.stringify(rendered.get('AlertmanagerConfig', 'main'))).not.toContain('KubeSchedulerDown');
  });

  it('refuses a TSDB class the inventory does not have, or one on NFS', () => {
    const data = inventoryData();
    data.monitoring.prometheus.storageClass = 'freenas-nfs-csi';
    expect(() => parseInventory(data, 'k8s-235')).toThrow(
      'monitoring.prometheus.storageClass: "freenas-nfs-csi" is an NFS class: Prometheus does not support NFS for its TSDB; name a block class (freenas-iscsi-csi)',
    );
  });
});

describe('the monitoring checks', () => {
  it('fails a Prometheus whose TSDB claim is of an NFS class, at its construct path', () => {
    const rendered = renderScope(
      (chart) => {
        const nfs = new k8s.KubeStorageClass(chart, 'nfs', {
          metadata: { name: 'nfs' },
          provisioner: 'org.democratic-csi.nfs',
          parameters: { fsType: 'nfs' },
        });
        const configuration = new AlertmanagerConfiguration(chart, 'routing', {
          name: 'main',
          namespace: 'monitoring',
          route: { receiver: new AlertReceiver('null') },
        });
        const alertmanager = new AlertmanagerServer(chart, 'alertmanager', { configuration });
        new PrometheusServer(chart, 'prometheus', { retention: '15d', storage: { storageClass: nfs, size: '10Gi' }, alertmanager });
      },
      { app: 'monitoring' },
    );
    const objects = rendered.app.objects.map((sourced) => ({ app: 'monitoring', manifest: sourced.manifest, origin: sourced.origin }));
    expect(monitoringStackPolicy.check(objects, { syncsAfter: () => false }).map(formatProblem)).toContain(
      'lab/monitoring/prometheus/Resource: Prometheus monitoring/k8s: spec.storage.volumeClaimTemplate.spec.storageClassName "nfs" is an NFS class (parameters.fsType is nfs): Prometheus does not support NFS for its TSDB; use a block class [policy.monitoring.tsdb-storage]',
    );
  });

  it('fails a webhook that points at no Service, or at a port the Service lacks, or out of the cluster', () => {
    const service = object({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bridge', namespace: 'monitoring' },
      spec: { ports: [{ name: 'http', port: 9094 }] },
    });
    const config = (urls: string[]) =>
      object({
        apiVersion: 'monitoring.coreos.com/v1alpha1',
        kind: 'AlertmanagerConfig',
        metadata: { name: 'main', namespace: 'monitoring' },
        spec: { route: { receiver: 'hook' }, receivers: [{ name: 'hook', webhookConfigs: urls.map((url) => ({ url })) }] },
      });
    const check = (objects: PolicyObject[]) => monitoringStackPolicy.check(objects, { syncsAfter: () => false }).map((p) => p.message);
    expect(check([service, config(['http://bridge.monitoring.svc:9094/'])])).toEqual([]);
    expect(
      check([
        service,
        config(['http://brige.monitoring.svc:9094/', 'http://bridge.monitoring.svc:9095/', 'https://discord.com/api/webhooks/1/x']),
      ]),
    ).toEqual([
      'spec.receivers[0].webhookConfigs[0].url "http://brige.monitoring.svc:9094/" names Service monitoring/brige, which the cluster does not render; fix the URL or render the Service',
      'spec.receivers[0].webhookConfigs[1].url "http://bridge.monitoring.svc:9095/" uses port 9095, which Service monitoring/bridge does not have (its ports: 9094)',
      'spec.receivers[0].webhookConfigs[2].url "https://discord.com/api/webhooks/1/x" points outside the cluster (discord.com): point it at a Service the cluster renders (http://<service>.<namespace>.svc:<port>/)',
    ]);
  });

  it('fails a PodMonitor that selects no pod template, or a port its pods lack', () => {
    const deployment = object({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'web:1.0.0', ports: [{ name: 'metrics', containerPort: 9090 }] }] },
        },
      },
    });
    const podMonitor = (app: string, port: string) =>
      object({
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: 'web', namespace: 'web' },
        spec: { selector: { matchLabels: { app } }, podMetricsEndpoints: [{ port }] },
      });
    const check = (objects: PolicyObject[]) =>
      metricsTargetPolicy.check(objects, { syncsAfter: () => false, built: true }).map((p) => p.message);
    expect(check([deployment, podMonitor('web', 'metrics')])).toEqual([]);
    expect(check([deployment, podMonitor('api', 'metrics')])).toEqual([
      'selects no pod template in namespace web (selector {"matchLabels":{"app":"api"}}): Prometheus would scrape nothing; fix the selector or the namespace',
    ]);
    expect(check([deployment, podMonitor('web', 'http')])).toEqual([
      'spec.podMetricsEndpoints[0].port "http" is not a container port name of what it selects (Deployment web); name the port "http" or scrape one it has',
    ]);
  });

  it('fails a route naming a receiver that does not exist, and a severity only the silent default takes', () => {
    const config = (routes: unknown[]) =>
      object({
        apiVersion: 'monitoring.coreos.com/v1alpha1',
        kind: 'AlertmanagerConfig',
        metadata: { name: 'main', namespace: 'monitoring' },
        spec: {
          route: { receiver: 'null', routes },
          receivers: [{ name: 'null' }, { name: 'chat', webhookConfigs: [{ url: 'http://chat.monitoring.svc:80/' }] }],
        },
      });
    const rules = object({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'rules', namespace: 'monitoring' },
      spec: {
        groups: [
          {
            name: 'g',
            rules: [
              { alert: 'Down', expr: 'up == 0', labels: { severity: 'critical' } },
              { alert: 'Slow', expr: 'up == 0', labels: { severity: 'info' } },
            ],
          },
        ],
      },
    });
    const chat = object({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'chat', namespace: 'monitoring' },
      spec: { ports: [{ port: 80 }] },
    });
    const check = (objects: PolicyObject[]) => monitoringStackPolicy.check(objects, { syncsAfter: () => false }).map(formatProblem);
    const critical = { matchers: [{ name: 'severity', value: 'critical', matchType: '=' }], receiver: 'chat' };
    expect(check([chat, rules, config([critical, { matchers: [{ name: 'severity', value: 'info' }], receiver: 'null' }])])).toEqual([]);
    expect(check([chat, rules, config([critical])])).toEqual([
      'lab/monitoring/AlertmanagerConfig: AlertmanagerConfig monitoring/main: severity "info" (alert Slow) reaches only the default receiver, which notifies no one: add a route for it, or route those alerts to a null receiver on purpose [policy.alerting.routing]',
    ]);
    const problems = check([chat, rules, config([{ ...critical, receiver: 'pager' }])]);
    expect(problems[0]).toBe(
      'lab/monitoring/AlertmanagerConfig: AlertmanagerConfig monitoring/main: spec.route.routes[0].receiver: names the receiver "pager", which spec.receivers does not define (spec.receivers defines "null", "chat"): add it there, or name one of those [policy.alerting.routing]',
    );
  });
});

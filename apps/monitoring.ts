import { AlertmanagerConfiguration, AlertReceiver, match } from '../constructs/monitoring/alerting.js';
import { ControlPlaneEndpoints } from '../constructs/monitoring/control-plane.js';
import { MonitoringStack } from '../constructs/monitoring/stack.js';
import { DiscordBridge, MatrixBridge } from '../constructs/monitoring/webhook-bridges.js';
import { SopsSecret } from '../constructs/secrets/sops-secret.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { certManagerApp } from './cert-manager.js';
import { democraticCsiApp } from './democratic-csi.js';
import { monitoringCrdsApp } from './monitoring-crds.js';
import { traefikApp } from './traefik.js';

const NAMESPACE = 'monitoring';

/**
 * The cluster's monitoring: kube-prometheus with the project's Prometheus `k8s` (TSDB on the
 * inventory's block class) and Alertmanager `main`, alerts of severity critical and warning to
 * Discord and Matrix, info to Matrix, Watchdog and InfoInhibitor to no one; Grafana through GitLab,
 * Prometheus and Alertmanager behind SSO.
 */
export const monitoringApp: AppDefinition<ClusterInventory> = {
  name: 'monitoring',
  namespace: NAMESPACE,
  // The CRDs, its Ingresses (Traefik, a certificate) and the TSDB's StorageClass.
  dependsOn: [monitoringCrdsApp, certManagerApp, traefikApp, democraticCsiApp],
  serverSideApply: true,
  build(chart, inventory) {
    const facts = inventory.monitoring;
    if (!facts) {
      chart.node.addValidation({
        validate: () => [
          `inventory/${inventory.name}.json has no monitoring section: the monitoring app needs its Prometheus storage, Grafana and Matrix facts`,
        ],
      });
      return;
    }
    const { letsEncrypt } = chart.use(certManagerApp);
    const traefik = chart.use(traefikApp);
    const { storageClasses } = chart.use(democraticCsiApp);

    const discord = new DiscordBridge(chart, 'alertmanager-discord', {
      namespace: NAMESPACE,
      image: facts.discord.image,
      webhookSecret: new SopsSecret(chart, 'alertmanager-discord-secret', { name: 'alertmanager-discord', namespace: NAMESPACE }),
    });
    const matrix = new MatrixBridge(chart, 'matrix-alertmanager', {
      namespace: NAMESPACE,
      homeserverUrl: facts.matrix.homeserverUrl,
      user: facts.matrix.user,
      secret: new SopsSecret(chart, 'matrix-alertmanager-secret', { name: 'matrix-alertmanager', namespace: NAMESPACE }),
    });
    const toDiscord = new AlertReceiver('discord', [discord.webhook]);
    const toMatrix = new AlertReceiver('matrix', [matrix.webhook]);
    const nobody = new AlertReceiver('null');
    const routing = new AlertmanagerConfiguration(chart, 'alertmanager-config', {
      name: 'main',
      namespace: NAMESPACE,
      route: {
        receiver: nobody,
        groupBy: ['namespace'],
        groupWait: '30s',
        groupInterval: '5m',
        repeatInterval: '12h',
        routes: [
          // The heartbeat and the inhibitor fire all the time, by design.
          { matchers: [match('alertname', '=', 'Watchdog')], receiver: nobody },
          { matchers: [match('alertname', '=', 'InfoInhibitor')], receiver: nobody },
          // One Discord message per alert name: a mixed group has no common title.
          {
            matchers: [match('severity', '=~', 'critical|warning')],
            receiver: toDiscord,
            groupBy: ['namespace', 'alertname'],
            continue: true,
          },
          { matchers: [match('severity', '=~', 'critical|warning|info')], receiver: toMatrix },
        ],
      },
    });
    matrix.addRoom(routing.generatedReceiverName(toMatrix), facts.matrix.room);

    // kube-controller-manager and kube-scheduler run on the NixOS hosts, bound to their IPv4
    // addresses (nixos/modules/kubernetes/control-plane.nix): kube-prometheus's monitors find them here.
    new ControlPlaneEndpoints(chart, 'control-plane', {
      addresses: inventory.hosts.filter((host) => host.roles.includes('control-plane')).map((host) => host.ipv4),
    });
    new MonitoringStack(chart, 'kube-prometheus', {
      baseDomain: inventory.domain.base,
      prometheus: {
        retention: facts.prometheus.retention,
        retentionSize: facts.prometheus.retentionSize,
        storage: { storageClass: storageClasses.get(facts.prometheus.storageClass), size: facts.prometheus.storageSize },
      },
      alertmanager: { configuration: routing },
      grafana: {
        gitlabUrl: inventory.sso.oidcIssuerUrl,
        applicationId: facts.grafana.gitlabApplicationId,
        secret: new SopsSecret(chart, 'grafana-gitlab-secret', { name: 'grafana-gitlab', namespace: NAMESPACE }),
        adminGroups: inventory.sso.operatorGroups,
        config: new SopsSecret(chart, 'grafana-config', { name: 'grafana-config', namespace: NAMESPACE }),
        datasources: new SopsSecret(chart, 'grafana-datasources', { name: 'grafana-datasources', namespace: NAMESPACE }),
      },
      ingressController: traefik.controller,
      issuer: letsEncrypt,
      sso: traefik.sso,
    });
  },
};

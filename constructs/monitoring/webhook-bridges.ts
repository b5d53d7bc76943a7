import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { floatingImageError } from '../core/pinning.js';
import { httpProbe, RESTRICTED_POD_SECURITY_CONTEXT } from '../core/workload.js';
import type { SopsSecret } from '../secrets/sops-secret.js';
import type { WebhookTarget } from './alerting.js';

/**
 * jaywink/matrix-alertmanager at its release tag (the project's docker_release.sh tags images as
 * its git tags, `vX.Y.Z`). The image has no USER: the pod's numeric non-root user runs it.
 */
export const MATRIX_ALERTMANAGER_IMAGE = 'jaywink/matrix-alertmanager:v0.10.0';

const BRIDGE_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('32Mi') },
  limits: { memory: k8s.Quantity.fromString('128Mi') },
};

interface BridgeProps {
  readonly name: string;
  readonly namespace: string;
  readonly image: string;
  readonly port: number;
  readonly env: readonly k8s.EnvVar[];
  readonly command?: readonly string[];
  readonly readiness: k8s.Probe;
  /** @default none */
  readonly liveness?: k8s.Probe;
  readonly resources?: k8s.ResourceRequirements;
}

/**
 * One webhook bridge: a Deployment of one restricted, read-only container, its Service, and a
 * NetworkPolicy that admits no one: the Alertmanager whose configuration names the bridge adds
 * the policy that lets its own pods in (AlertmanagerServer), so nothing else reaches it.
 */
class WebhookBridge extends Construct {
  readonly service: k8s.KubeService;
  readonly deployment: k8s.KubeDeployment;

  constructor(scope: Construct, id: string, props: BridgeProps) {
    super(scope, id);
    const { name, namespace } = props;
    const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': name };
    const labels = { ...selector, 'app.kubernetes.io/component': 'alert-webhook', 'app.kubernetes.io/part-of': 'monitoring' };
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels }, automountServiceAccountToken: false });
    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: RESTRICTED_POD_SECURITY_CONTEXT,
            containers: [
              {
                name,
                image: props.image,
                ...(props.command ? { command: [...props.command] } : {}),
                env: [...props.env],
                ports: [{ name: 'http', containerPort: props.port, protocol: 'TCP' }],
                readinessProbe: props.readiness,
                ...(props.liveness ? { livenessProbe: props.liveness } : {}),
                resources: props.resources ?? BRIDGE_RESOURCES,
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    });
    this.service = new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'http', port: props.port, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('http') }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'DenyIngress', {
      metadata: { name: `${name}-deny-ingress`, namespace, labels },
      spec: { podSelector: { matchLabels: selector }, policyTypes: ['Ingress'] },
    });
    this.node.addValidation({
      validate: () => {
        const error = floatingImageError(props.image);
        return error ? [`image: ${error}; pin a release tag or a digest`] : [];
      },
    });
  }
}

export interface DiscordBridgeProps {
  /** @default 'alertmanager-discord' */
  readonly name?: string;
  readonly namespace: string;
  /** SopsSecret holding the Discord webhook URL under `DISCORD_WEBHOOK`. */
  readonly webhookSecret: SopsSecret;
  /**
   * benjojo/alertmanager-discord by digest (`benjojo/alertmanager-discord@sha256:…`): the project
   * publishes no release tags, only `latest`, so the digest you reviewed is the pin.
   */
  readonly image: string;
}

/** Key of the Discord bridge's Secret holding the webhook URL (`https://discord.com/api/webhooks/<id>/<token>`). */
export const DISCORD_WEBHOOK_KEY = 'DISCORD_WEBHOOK';

/**
 * benjojo/alertmanager-discord: posts Alertmanager's webhook payloads to a Discord channel
 * webhook. It listens on 9094 (the image's LISTEN_ADDRESS) on any path.
 */
export class DiscordBridge extends Construct {
  readonly service: k8s.KubeService;
  /** What a receiver's webhook names. */
  readonly webhook: WebhookTarget;

  constructor(scope: Construct, id: string, props: DiscordBridgeProps) {
    super(scope, id);
    props.webhookSecret.requireKeys([DISCORD_WEBHOOK_KEY]);
    const bridge = new WebhookBridge(this, 'Bridge', {
      name: props.name ?? 'alertmanager-discord',
      namespace: props.namespace,
      image: props.image,
      port: 9094,
      // It answers 200 on every path and method: an open port is all a probe can tell.
      readiness: { tcpSocket: { port: k8s.IntOrString.fromString('http') }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3 },
      env: [
        { name: DISCORD_WEBHOOK_KEY, valueFrom: { secretKeyRef: { name: props.webhookSecret.secretName, key: DISCORD_WEBHOOK_KEY } } },
        // Every address of the pod, IPv6 included.
        { name: 'LISTEN_ADDRESS', value: ':9094' },
      ],
    });
    this.service = bridge.service;
    // One embed field per alert, and Discord refuses a message of more than 25 fields without the bridge noticing.
    this.webhook = { service: bridge.service, port: 'http', path: '/', maxAlerts: DISCORD_MAX_ALERTS };
  }
}

/** The most alerts one Discord message lists: the bridge writes one embed field per alert, and Discord takes at most 25. */
export const DISCORD_MAX_ALERTS = 20;

/** Keys of the Matrix bridge's Secret. */
export const MATRIX_SECRET_KEYS = {
  /** The bot user's access token. */
  token: 'MATRIX_TOKEN',
  /** The shared secret Alertmanager authenticates with (as the basic-auth password). */
  secret: 'APP_ALERTMANAGER_SECRET',
  /** The basic-auth user name: the bridge accepts only `alertmanager`. */
  username: 'ALERTMANAGER_USERNAME',
} as const;

export interface MatrixBridgeProps {
  /** @default 'matrix-alertmanager' */
  readonly name?: string;
  readonly namespace: string;
  /** https URL of the homeserver. */
  readonly homeserverUrl: string;
  /** The bot's user id, `@alertmanager:example.org`. */
  readonly user: string;
  /** Room per Alertmanager receiver name (the name as the generated configuration writes it); `addRoom` adds more. @default none */
  readonly rooms?: Readonly<Record<string, string>>;
  /** Mention the room (@room) on firing alerts. @default false */
  readonly mentionRoom?: boolean;
  /** SopsSecret with the keys of MATRIX_SECRET_KEYS. */
  readonly secret: SopsSecret;
  /** @default MATRIX_ALERTMANAGER_IMAGE */
  readonly image?: string;
}

/**
 * jaywink/matrix-alertmanager: posts Alertmanager's webhook payloads (POST /alerts) to Matrix
 * rooms, one room per receiver, as a bot user. Alertmanager authenticates with basic auth (user
 * `alertmanager`, the shared secret as password), so the secret never appears in a URL.
 */
export class MatrixBridge extends Construct {
  readonly service: k8s.KubeService;
  readonly webhook: WebhookTarget;
  private readonly rooms = new Map<string, string>();

  /** Posts what the receiver named `receiver` (as the generated configuration names it) gets to `room`. */
  addRoom(receiver: string, room: string): void {
    if (this.rooms.has(receiver)) throw new Error(`${this.node.path}: receiver "${receiver}" already has a room`);
    this.rooms.set(receiver, room);
  }

  constructor(scope: Construct, id: string, props: MatrixBridgeProps) {
    super(scope, id);
    const keys = MATRIX_SECRET_KEYS;
    props.secret.requireKeys(Object.values(keys));
    const fromSecret = (name: string, key: string): k8s.EnvVar => ({
      name,
      valueFrom: { secretKeyRef: { name: props.secret.secretName, key } },
    });
    for (const [receiver, room] of Object.entries(props.rooms ?? {})) this.addRoom(receiver, room);
    const rooms = () => [...this.rooms].map(([receiver, room]) => `${receiver}/${room}`);
    const bridge = new WebhookBridge(this, 'Bridge', {
      name: props.name ?? 'matrix-alertmanager',
      namespace: props.namespace,
      image: props.image ?? MATRIX_ALERTMANAGER_IMAGE,
      port: 3000,
      // The image's CMD is `npm start`; node runs the same script without npm writing a cache to a read-only root.
      command: ['node', 'src/app.js'],
      // GET / answers once the Matrix client has started.
      readiness: httpProbe('/', 'http', 3),
      // When its Matrix login fails the bridge never listens but keeps running: restart it.
      liveness: {
        tcpSocket: { port: k8s.IntOrString.fromString('http') },
        initialDelaySeconds: 60,
        periodSeconds: 30,
        failureThreshold: 3,
      },
      env: [
        { name: 'APP_PORT', value: '3000' },
        fromSecret(keys.secret, keys.secret),
        { name: 'MATRIX_HOMESERVER_URL', value: props.homeserverUrl },
        // Rooms are added after the routing that names the receivers.
        { name: 'MATRIX_ROOMS', value: Lazy.any({ produce: () => rooms().join('|') }) as unknown as string },
        fromSecret(keys.token, keys.token),
        { name: 'MATRIX_USER', value: props.user },
        { name: 'MENTION_ROOM', value: props.mentionRoom ? '1' : '0' },
      ],
    });
    this.service = bridge.service;
    this.webhook = {
      service: bridge.service,
      port: 'http',
      path: '/alerts',
      basicAuth: { secret: props.secret, usernameKey: keys.username, passwordKey: keys.secret },
    };
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!props.homeserverUrl.startsWith('https://')) errors.push(`homeserverUrl "${props.homeserverUrl}" must be an https:// URL`);
        if (!/^@[^:\s]+:[^\s]+$/.test(props.user)) errors.push(`user "${props.user}" is not a Matrix user id (@name:server)`);
        if (this.rooms.size === 0) errors.push('rooms: name at least one room for a receiver (addRoom)');
        for (const [receiver, room] of this.rooms) {
          if (!/^[!#][^:\s|]+:[^\s|]+$/.test(room))
            errors.push(`rooms: "${room}" (receiver ${receiver}) is not a room id or alias (!id:server or #alias:server)`);
          if (receiver.includes('|')) errors.push(`rooms: receiver "${receiver}" contains "|", which separates rooms in MATRIX_ROOMS`);
        }
        return errors;
      },
    });
  }
}

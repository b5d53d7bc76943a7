import { isIP } from 'node:net';
import { IngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute';
import type { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { registerPolicies } from '../../framework/cluster.js';
import { isDnsLabel } from '../../framework/rules/network.js';
import { crdSyncOptions } from '../core/kustomize-patch.js';
import { modelObject } from '../core/model-object.js';
import { podSecurityNamespace } from '../core/namespace.js';
import { floatingImageError, floatingVersionError } from '../core/pinning.js';
import { RemoteResource } from '../core/remote-resource.js';
import { httpProbe, RESTRICTED_POD_SECURITY_CONTEXT, SURGE_ONE_ROLLOUT, spreadAcrossNodes } from '../core/workload.js';
import { declareMetrics } from '../monitoring/metrics.js';
import { type MiddlewareRef, middlewareProviderName } from './middleware-ref.js';
import { ingressPolicy } from './policies.js';

/** The Traefik release this library is tested with (image tag and CRD definitions). */
export const TRAEFIK_VERSION = 'v3.7.9';

/** The controller name Traefik's Kubernetes Ingress provider answers to in an IngressClass. */
export const TRAEFIK_INGRESS_CONTROLLER = 'traefik.io/ingress-controller';

/** The custom resources whose CRDs a Traefik v3 release defines. */
export const TRAEFIK_CRDS = [
  {
    group: 'traefik.io',
    kinds: [
      'IngressRoute',
      'IngressRouteTCP',
      'IngressRouteUDP',
      'Middleware',
      'MiddlewareTCP',
      'ServersTransport',
      'ServersTransportTCP',
      'TLSOption',
      'TLSStore',
      'TraefikService',
    ],
  },
] as const;

/** Upstream CRD definitions of a Traefik release (all `traefik.io` kinds in one file). */
export function traefikCrdsUrl(version: string): string {
  return `https://raw.githubusercontent.com/traefik/traefik/${version}/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml`;
}

export type IpFamily = 'IPv4' | 'IPv6';

/** Container ports of Traefik's entry points. The LoadBalancer Services always expose 80 and 443. */
export interface TraefikEntryPointPorts {
  /** Plain HTTP entry point `web`, published on 80. @default 8000 */
  readonly web?: number;
  /** TLS entry point `websecure`, published on 443 (TCP, and UDP for HTTP/3). @default 8443 */
  readonly websecure?: number;
  /** Internal entry point `traefik`: ping and the dashboard API. Never published. @default 9000 */
  readonly traefik?: number;
  /** Internal entry point `metrics`: Prometheus metrics only, for the scrapers. Never published. @default 8082 */
  readonly metrics?: number;
}

export interface TraefikControllerProps {
  /** Namespace of the controller and its objects. @default 'traefik' */
  readonly namespace?: string;
  /** Base name of the controller's objects (Deployment, ServiceAccount, ClusterRole, Services). @default 'traefik' */
  readonly name?: string;
  /** Traefik release: selects the CRD definitions and, unless `image` is set, the image tag. @default TRAEFIK_VERSION */
  readonly version?: string;
  /** Container image, pinned by tag or digest. @default 'docker.io/traefik:<version>' */
  readonly image?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** Name of the IngressClass, marked as the cluster default. @default 'traefik' */
  readonly ingressClassName?: string;
  /** One SingleStack LoadBalancer Service per family, named `<name>-ipv4` / `<name>-ipv6`. @default ['IPv4', 'IPv6'] */
  readonly ipFamilies?: readonly IpFamily[];
  /** @default { web: 8000, websecure: 8443, traefik: 9000 } */
  readonly ports?: TraefikEntryPointPorts;
  /** Serve HTTP/3 on websecure (UDP), advertised on port 443. @default true */
  readonly http3?: boolean;
  /**
   * Middlewares applied to every router on websecure, before the router's own middlewares: the
   * way to send security headers (HSTS) on every response. @default none
   */
  readonly entryPointMiddlewares?: readonly MiddlewareRef[];
  /**
   * Addresses or CIDRs of proxies in front of Traefik whose X-Forwarded-* headers are trusted on
   * web and websecure. Clients reach Traefik directly (externalTrafficPolicy Local keeps their
   * address), so none are trusted by default. @default none
   */
  readonly forwardedHeadersTrustedIPs?: readonly string[];
  /** @default requests 100m CPU / 128Mi memory, limit 512Mi memory */
  readonly resources?: k8s.ResourceRequirements;
  /** Log level of Traefik itself. @default 'INFO' */
  readonly logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Labels on the LoadBalancer Services (e.g. to match a BGP advertisement or an IP pool). @default none */
  readonly loadBalancerLabels?: Readonly<Record<string, string>>;
  /** Annotations on the LoadBalancer Services (e.g. to request fixed addresses). @default none */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /** Extra static-configuration flags, appended after the ones this construct sets. @default none */
  readonly extraArgs?: readonly string[];
  /** Namespaces whose pods may reach the metrics entry point (the dashboard API stays Traefik's own). @default ['monitoring'] */
  readonly metricsNamespaces?: readonly string[];
  /** How long a client may take to send a request, uploads included (Traefik's default is 60s). @default '600s' */
  readonly readTimeout?: string;
}

const DEFAULT_RESOURCES: k8s.ResourceRequirements = {
  requests: { cpu: k8s.Quantity.fromString('100m'), memory: k8s.Quantity.fromString('128Mi') },
  limits: { memory: k8s.Quantity.fromString('512Mi') },
};

/** Read-only access Traefik's Kubernetes CRD and Ingress providers need, and the Ingress status it publishes. */
const CLUSTER_ROLE_RULES: k8s.PolicyRule[] = [
  // configmaps: ServersTransport root CAs; nodes: NodePort load balancing (both read by the providers since v3.1/v3.4).
  { apiGroups: [''], resources: ['configmaps', 'nodes', 'secrets', 'services'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingressclasses', 'ingresses'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
  {
    apiGroups: ['traefik.io'],
    resources: [
      'ingressroutes',
      'ingressroutetcps',
      'ingressrouteudps',
      'middlewares',
      'middlewaretcps',
      'serverstransports',
      'serverstransporttcps',
      'tlsoptions',
      'tlsstores',
      'traefikservices',
    ],
    verbs: ['get', 'list', 'watch'],
  },
];

function cidrError(value: string): string | undefined {
  const [address, prefix, ...rest] = value.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return `"${value}" is not an IP address or CIDR`;
  if (prefix === undefined) return undefined;
  const bits = Number(prefix);
  if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return `"${value}" has an invalid prefix length`;
  return undefined;
}

/**
 * Traefik v3 as the cluster's ingress controller: a highly available Deployment that runs under
 * the `restricted` Pod Security Standard, its RBAC, the default IngressClass, one LoadBalancer
 * Service per IP family (HTTP on 80 redirected to HTTPS, HTTPS and HTTP/3 on 443), metrics for
 * Prometheus, and the upstream CRDs pinned at the same release.
 */
export class TraefikController extends Construct {
  readonly namespace: string;
  readonly ingressClassName: string;
  readonly deployment: k8s.KubeDeployment;
  /**
   * A ClusterIP Service for routing the dashboard through an Ingress (protect it with SSO): port
   * `http` (80), in front of the `traefik` entry point.
   */
  readonly dashboardService: k8s.KubeService;
  /** Path prefixes an Ingress must route to `dashboardService`: the UI under /dashboard/ calls the API under /api. */
  readonly dashboardPaths: readonly string[];
  /** The IngressRoute that serves the dashboard and its API on the internal `traefik` entry point. */
  readonly dashboardRoute: ApiObject;
  /** The LoadBalancer Services, one per IP family, in `ipFamilies` order. */
  readonly loadBalancerServices: readonly k8s.KubeService[];
  readonly crds: RemoteResource;

  constructor(scope: Construct, id: string, props: TraefikControllerProps = {}) {
    super(scope, id);
    // Every Ingress Traefik serves, hand-written ones included, meets the ingress policy.
    registerPolicies(this, ingressPolicy);
    this.namespace = props.namespace ?? 'traefik';
    this.ingressClassName = props.ingressClassName ?? 'traefik';
    const namespace = this.namespace;
    const name = props.name ?? 'traefik';
    const version = props.version ?? TRAEFIK_VERSION;
    const image = props.image ?? `docker.io/traefik:${version}`;
    const replicas = props.replicas ?? 2;
    const ipFamilies = props.ipFamilies ?? ['IPv4', 'IPv6'];
    const http3 = props.http3 ?? true;
    const ports = { web: 8000, websecure: 8443, traefik: 9000, metrics: 8082, ...props.ports };
    const trustedIPs = props.forwardedHeadersTrustedIPs ?? [];
    const entryPointMiddlewares = props.entryPointMiddlewares ?? [];
    const selector = { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': name };
    const labels = { ...selector, 'app.kubernetes.io/component': 'ingress-controller' };
    const serviceName = (family: IpFamily) => `${name}-${family.toLowerCase()}`;

    // Traefik listens on unprivileged ports only, so it runs as non-root without capabilities.
    podSecurityNamespace(this, 'Namespace', { name: namespace });

    this.crds = new RemoteResource(this, 'Crds', { url: traefikCrdsUrl(version), crds: TRAEFIK_CRDS });
    // The CRDs are large (server-side apply), must not be pruned with the app (that would delete
    // every IngressRoute and Middleware in the cluster) and must exist before the custom resources.
    crdSyncOptions(this, 'CrdSyncOptions', {
      patchName: 'traefik-crds',
      syncOptions: ['Delete=false', 'ServerSideApply=true'],
      syncWave: -1,
    });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels } });
    new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: { name, labels }, rules: CLUSTER_ROLE_RULES });
    new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    });

    const trustedIPsArgs = (entryPoint: string) =>
      trustedIPs.length > 0 ? [`--entryPoints.${entryPoint}.forwardedHeaders.trustedIPs=${trustedIPs.join(',')}`] : [];
    const args = [
      '--global.checkNewVersion=false',
      '--global.sendAnonymousUsage=false',
      `--log.level=${props.logLevel ?? 'INFO'}`,
      '--log.format=json',
      '--accessLog=true',
      '--accessLog.format=json',
      `--entryPoints.web.address=:${ports.web}/tcp`,
      // A port, not the entry point's name: redirecting "to websecure" would send clients to its container port.
      '--entryPoints.web.http.redirections.entryPoint.to=:443',
      '--entryPoints.web.http.redirections.entryPoint.scheme=https',
      '--entryPoints.web.http.redirections.entryPoint.permanent=true',
      // Lowest priority: routers on web (such as cert-manager's HTTP-01 solver) win over the redirect.
      '--entryPoints.web.http.redirections.entryPoint.priority=1',
      ...trustedIPsArgs('web'),
      `--entryPoints.websecure.address=:${ports.websecure}/tcp`,
      '--entryPoints.websecure.http.tls=true',
      `--entryPoints.websecure.transport.respondingTimeouts.readTimeout=${props.readTimeout ?? '600s'}`,
      // Drop client headers spelled with "_" (X_Auth_Request_Email): CGI-style apps read them as the real ones.
      '--entryPoints.websecure.http.underscoreHeadersStrategy=delete',
      ...(http3 ? ['--entryPoints.websecure.http3=true', '--entryPoints.websecure.http3.advertisedPort=443'] : []),
      ...(entryPointMiddlewares.length > 0
        ? [`--entryPoints.websecure.http.middlewares=${entryPointMiddlewares.map(middlewareProviderName).join(',')}`]
        : []),
      ...trustedIPsArgs('websecure'),
      `--entryPoints.traefik.address=:${ports.traefik}/tcp`,
      '--api.dashboard=true',
      '--ping=true',
      '--ping.entryPoint=traefik',
      `--entryPoints.metrics.address=:${ports.metrics}/tcp`,
      '--metrics.prometheus=true',
      '--metrics.prometheus.entryPoint=metrics',
      '--providers.kubernetesCRD=true',
      '--providers.kubernetesCRD.allowCrossNamespace=false',
      '--providers.kubernetesIngress=true',
      `--providers.kubernetesIngress.ingressClass=${this.ingressClassName}`,
      // Ingress status carries the first family's addresses: Traefik publishes a single Service.
      `--providers.kubernetesIngress.ingressEndpoint.publishedService=${namespace}/${serviceName(ipFamilies[0] ?? 'IPv4')}`,
      ...(props.extraArgs ?? []),
    ];

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: { name, namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: selector },
        strategy: SURGE_ONE_ROLLOUT,
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            enableServiceLinks: false,
            securityContext: RESTRICTED_POD_SECURITY_CONTEXT,
            topologySpreadConstraints: spreadAcrossNodes(selector),
            containers: [
              {
                name: 'traefik',
                image,
                args,
                ports: [
                  { name: 'web', containerPort: ports.web, protocol: 'TCP' },
                  { name: 'websecure', containerPort: ports.websecure, protocol: 'TCP' },
                  ...(http3 ? [{ name: 'websecure-http3', containerPort: ports.websecure, protocol: 'UDP' }] : []),
                  { name: 'traefik', containerPort: ports.traefik, protocol: 'TCP' },
                  { name: 'metrics', containerPort: ports.metrics, protocol: 'TCP' },
                ],
                readinessProbe: httpProbe('/ping', 'traefik', 1),
                livenessProbe: httpProbe('/ping', 'traefik', 3),
                resources: props.resources ?? DEFAULT_RESOURCES,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              },
            ],
            volumes: [{ name: 'tmp', emptyDir: {} }],
          },
        },
      },
    });

    // The traefik entry point serves the dashboard API, unauthenticated: only Traefik itself (routing
    // the dashboard Ingress behind SSO) may reach it. The metrics entry point serves metrics only,
    // to the scrapers' namespaces. web and websecure stay open to everyone.
    new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name, namespace, labels },
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress'],
        ingress: [
          {
            ports: [
              { port: k8s.IntOrString.fromNumber(ports.web), protocol: 'TCP' },
              { port: k8s.IntOrString.fromNumber(ports.websecure), protocol: 'TCP' },
              ...(http3 ? [{ port: k8s.IntOrString.fromNumber(ports.websecure), protocol: 'UDP' }] : []),
            ],
          },
          {
            from: [{ podSelector: { matchLabels: selector } }],
            ports: [{ port: k8s.IntOrString.fromNumber(ports.traefik), protocol: 'TCP' }],
          },
          {
            from: (props.metricsNamespaces ?? ['monitoring']).map((ns) => ({
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
            })),
            ports: [{ port: k8s.IntOrString.fromNumber(ports.metrics), protocol: 'TCP' }],
          },
        ],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'PodDisruptionBudget', {
      metadata: { name, namespace, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });

    new k8s.KubeIngressClass(this, 'IngressClass', {
      metadata: {
        name: this.ingressClassName,
        labels,
        annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
      },
      spec: { controller: TRAEFIK_INGRESS_CONTROLLER },
    });

    const servicePort = (portName: string, port: number, protocol: 'TCP' | 'UDP'): k8s.ServicePort => ({
      name: portName,
      port,
      protocol,
      targetPort: k8s.IntOrString.fromString(portName),
    });
    this.loadBalancerServices = ipFamilies.map(
      (family) =>
        new k8s.KubeService(this, `Service-${family}`, {
          metadata: {
            name: serviceName(family),
            namespace,
            labels: { ...labels, ...props.loadBalancerLabels },
            ...(props.loadBalancerAnnotations ? { annotations: { ...props.loadBalancerAnnotations } } : {}),
          },
          spec: {
            type: 'LoadBalancer',
            // Keeps the client's source address and only sends traffic to nodes running Traefik.
            externalTrafficPolicy: 'Local',
            // The addresses are announced over BGP to the nodes running Traefik; no NodePorts needed.
            allocateLoadBalancerNodePorts: false,
            ipFamilyPolicy: 'SingleStack',
            ipFamilies: [family],
            selector,
            ports: [
              servicePort('web', 80, 'TCP'),
              servicePort('websecure', 443, 'TCP'),
              ...(http3 ? [servicePort('websecure-http3', 443, 'UDP')] : []),
            ],
          },
        }),
    );

    const metricsLabels = { ...selector, 'app.kubernetes.io/component': 'metrics' };
    const metricsService = new k8s.KubeService(this, 'MetricsService', {
      metadata: { name: `${name}-metrics`, namespace, labels: metricsLabels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'metrics', port: ports.metrics, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('metrics') }],
      },
    });
    declareMetrics(this, { name, labels, service: metricsService, port: 'metrics', path: '/metrics' });

    // The dashboard is served by api@internal; this router exposes it on the internal entry point
    // only, so it is reachable through the ClusterIP Service below and never from the LoadBalancers.
    const dashboardPaths = ['/dashboard', '/api'];
    this.dashboardRoute = modelObject(
      this,
      'DashboardRoute',
      new IngressRoute({
        metadata: { name: `${name}-dashboard`, namespace, labels },
        spec: {
          entryPoints: ['traefik'],
          routes: [
            {
              kind: 'Rule',
              match: dashboardPaths.map((path) => `PathPrefix(\`${path}\`)`).join(' || '),
              services: [{ kind: 'TraefikService', name: 'api@internal' }],
            },
          ],
        },
      }),
    );
    this.dashboardPaths = dashboardPaths;
    this.dashboardService = new k8s.KubeService(this, 'DashboardService', {
      metadata: { name: `${name}-dashboard`, namespace, labels: { ...selector, 'app.kubernetes.io/component': 'dashboard' } },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: k8s.IntOrString.fromString('traefik') }],
      },
    });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        const imageError = floatingImageError(image);
        if (imageError) errors.push(imageError);
        const versionError = floatingVersionError(version);
        if (versionError) errors.push(`Traefik ${versionError}`);
        if (!Number.isInteger(replicas) || replicas < 1) errors.push(`replicas must be a positive integer (got ${replicas})`);
        if (ipFamilies.length === 0) errors.push('ipFamilies must name at least one IP family');
        if (new Set(ipFamilies).size !== ipFamilies.length) errors.push(`ipFamilies has duplicates: ${ipFamilies.join(', ')}`);
        for (const [entryPoint, port] of Object.entries(ports)) {
          if (!Number.isInteger(port) || port < 1024 || port > 65535) {
            errors.push(`ports.${entryPoint} must be an unprivileged port (1024-65535) for a non-root container (got ${port})`);
          }
        }
        if (new Set(Object.values(ports)).size !== Object.keys(ports).length) {
          errors.push('ports.web, ports.websecure, ports.traefik and ports.metrics must differ');
        }
        for (const ip of trustedIPs) {
          const error = cidrError(ip);
          if (error) errors.push(`forwardedHeadersTrustedIPs: ${error}`);
        }
        for (const ref of entryPointMiddlewares) {
          if (!isDnsLabel(ref.namespace) || !isDnsLabel(ref.name)) {
            errors.push(`entryPointMiddlewares: "${ref.namespace}/${ref.name}" is not a valid namespace/name`);
          }
        }
        return errors;
      },
    });
  }
}

import { k8s, Service } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { AppChart } from '../../framework/app-chart.js';
import { registerPolicies } from '../../framework/cluster.js';
import { isRecord } from '../../framework/model.js';
import { isDnsName } from '../../framework/rules/network.js';
import type { IClusterIssuer } from '../certificates/acme-cluster-issuer.js';
import { UpstreamService, type UpstreamServicePort } from '../core/upstream-service.js';
import type { ForwardAuthMiddleware } from './forward-auth.js';
import { type MiddlewareRef, middlewareProviderName } from './middleware-ref.js';
import { ingressPolicy } from './policies.js';

/** Annotation recording why an Ingress is reachable without SSO. */
export const PUBLIC_REASON_ANNOTATION = 'ingress.homelab-cdk8s.io/public-reason';

/** Annotation naming the pinned upstream resource a backend Service comes from (synth cannot see it). */
export const UPSTREAM_BACKEND_ANNOTATION = 'ingress.homelab-cdk8s.io/backend-provided-by';

/** The Traefik entry point that serves TLS, where every SecureIngress is routed. */
export const TLS_ENTRY_POINT = 'websecure';

/**
 * SSO through a forward-auth Middleware (the object: `chart.use(traefikApp).sso`), or public
 * with a reason that ends up on the object.
 */
export type IngressAuth = { readonly sso: ForwardAuthMiddleware } | { readonly public: string };

/**
 * A Service an Ingress routes to: one the project renders (the `k8s.KubeService` L1 or a
 * cdk8s-plus `Service`), or one a pinned upstream resource installs, as the construct installing
 * it exposes it (`ArgoCd.serverService`).
 */
export type BackendService = k8s.KubeService | Service | UpstreamService;

export interface IngressBackend {
  /** The Service, in the Ingress's namespace. */
  readonly service: BackendService;
  /** Port by name (e.g. `http`) or number; the Service must have it. */
  readonly port: string | number;
}

/** The Service's ports, read when the construct tree is complete. */
function servicePorts(service: BackendService): readonly UpstreamServicePort[] {
  if (service instanceof UpstreamService) return service.ports;
  if (service instanceof Service) return service.ports.map((port) => ({ name: port.name, port: port.port }));
  const spec = (service.toJson() as { spec?: unknown }).spec;
  const ports = isRecord(spec) && Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [];
  return ports.map((port) => ({ name: typeof port.name === 'string' ? port.name : undefined, port: Number(port.port) }));
}

/** Why `backend` cannot serve an Ingress in `namespace` (of the app of `ingress`), if it cannot. */
function backendErrors(ingress: Construct, backend: IngressBackend, namespace: string | undefined): string[] {
  const { service, port } = backend;
  const upstream = service instanceof UpstreamService;
  const serviceNamespace = upstream ? service.namespace : (service.metadata.namespace ?? AppChart.find(service)?.appNamespace);
  const label = `backend Service ${serviceNamespace ? `${serviceNamespace}/` : ''}${service.name}`;
  const errors: string[] = [];
  if (namespace !== undefined && serviceNamespace !== undefined && namespace !== serviceNamespace) {
    errors.push(`${label} is not in the Ingress's namespace ${namespace}: an Ingress routes only to Services of its own namespace`);
  }
  const crossApp = upstream ? undefined : AppChart.referenceError(ingress, service, label);
  if (crossApp) errors.push(crossApp);
  let ports: readonly UpstreamServicePort[];
  try {
    ports = servicePorts(service);
  } catch {
    return errors;
  }
  const found = typeof port === 'number' ? ports.some((p) => p.port === port) : ports.some((p) => p.name === port);
  if (!found) {
    const known = ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(', ') || 'none';
    errors.push(`${label} has no port ${typeof port === 'number' ? port : `named "${port}"`} (its ports: ${known})`);
  }
  return errors;
}

export interface SecureIngressProps {
  /** Host names; every one is covered by the certificate. */
  readonly hosts: readonly string[];
  readonly backend: IngressBackend;
  /** Path prefixes routed to the backend. @default ['/'] */
  readonly paths?: readonly string[];
  /** SSO, or public with the reason why not. */
  readonly auth: IngressAuth;
  /**
   * The cert-manager ClusterIssuer that signs the certificate: an object of this app or of an app
   * it depends on (`chart.use(certManagerApp).letsEncrypt`).
   */
  readonly issuer: IClusterIssuer;
  /** Secret cert-manager stores the certificate in. @default '<first host, dots as dashes>-tls' */
  readonly tlsSecretName?: string;
  /** @default 'traefik' */
  readonly ingressClassName?: string;
  /** Middlewares applied after authentication. @default none */
  readonly middlewares?: readonly MiddlewareRef[];
  /** @default the app's namespace */
  readonly namespace?: string;
  /** @default the construct id */
  readonly name?: string;
  /** Extra annotations (for example Traefik router priority). @default none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * An Ingress that is secure by default: TLS always (a cert-manager certificate for every host,
 * served on the TLS entry point), and SSO through forward-auth unless it is declared public with
 * a reason.
 */
export class SecureIngress extends Construct {
  readonly resource: k8s.KubeIngress;
  readonly hosts: readonly string[];
  readonly tlsSecretName: string;
  /** The Traefik entry point the route is on. */
  readonly entryPoint: string;

  constructor(scope: Construct, id: string, props: SecureIngressProps) {
    super(scope, id);
    // TLS, issuer, SSO, hosts and backends are checked across the cluster wherever an Ingress is made.
    registerPolicies(this, ingressPolicy);
    // A JavaScript caller may leave auth out, or give a reference where the Middleware belongs; validation says so.
    const auth: IngressAuth | undefined = props.auth;
    const sso = auth && 'sso' in auth ? auth.sso : undefined;
    const ssoRef: MiddlewareRef | undefined = sso?.ref;
    this.hosts = props.hosts;
    this.tlsSecretName = props.tlsSecretName ?? `${(props.hosts[0] ?? id).replaceAll('*', 'wildcard').replaceAll('.', '-')}-tls`;
    this.entryPoint = TLS_ENTRY_POINT;
    const middlewares = [...(ssoRef ? [ssoRef] : []), ...(props.middlewares ?? [])];
    const annotations: Record<string, string> = {
      // A JavaScript caller may leave the issuer out; validation says so.
      ...(props.issuer ? { 'cert-manager.io/cluster-issuer': props.issuer.issuerName } : {}),
      'traefik.ingress.kubernetes.io/router.entrypoints': this.entryPoint,
      'traefik.ingress.kubernetes.io/router.tls': 'true',
      ...(middlewares.length > 0
        ? { 'traefik.ingress.kubernetes.io/router.middlewares': middlewares.map(middlewareProviderName).join(',') }
        : {}),
      ...(auth && 'public' in auth ? { [PUBLIC_REASON_ANNOTATION]: auth.public } : {}),
      ...(props.backend.service instanceof UpstreamService ? { [UPSTREAM_BACKEND_ANNOTATION]: props.backend.service.providedBy } : {}),
      ...props.annotations,
    };
    const port = typeof props.backend.port === 'number' ? { number: props.backend.port } : { name: props.backend.port };
    const paths = props.paths ?? ['/'];
    this.resource = new k8s.KubeIngress(this, 'Resource', {
      metadata: { name: props.name ?? id, ...(props.namespace ? { namespace: props.namespace } : {}), annotations },
      spec: {
        ingressClassName: props.ingressClassName ?? 'traefik',
        tls: [{ hosts: [...props.hosts], secretName: this.tlsSecretName }],
        rules: props.hosts.map((host) => ({
          host,
          http: {
            paths: paths.map((path) => ({ path, pathType: 'Prefix', backend: { service: { name: props.backend.service.name, port } } })),
          },
        })),
      },
    });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (props.hosts.length === 0) errors.push('a SecureIngress needs at least one host');
        for (const host of props.hosts)
          if (!isDnsName(host, { wildcard: true, minLabels: 2 })) errors.push(`host "${host}" is not a valid DNS name`);
        if (!auth) {
          errors.push('no auth: pass auth: { sso } with the forward-auth Middleware, or { public: "<reason>" }');
        } else if (sso && !ssoRef) {
          errors.push('auth.sso must be the ForwardAuthMiddleware object (chart.use(traefikApp).sso), not a reference to one');
        } else if (sso) {
          const ssoError = AppChart.referenceError(this, sso, `forward-auth Middleware ${ssoRef?.namespace}/${ssoRef?.name}`);
          if (ssoError) errors.push(ssoError);
        } else if ('public' in auth && auth.public.trim().length === 0) {
          errors.push('a public SecureIngress needs a reason: auth: { public: "<why it needs no SSO>" }');
        }
        for (const path of paths) if (!path.startsWith('/')) errors.push(`path "${path}" must start with "/"`);
        if (!props.issuer) errors.push('no issuer: pass the ClusterIssuer object that signs the certificate (issuer: letsEncrypt)');
        const issuerError = props.issuer && AppChart.referenceError(this, props.issuer, `ClusterIssuer ${props.issuer.issuerName}`);
        if (issuerError) errors.push(issuerError);
        errors.push(...backendErrors(this, props.backend, props.namespace ?? AppChart.find(this)?.appNamespace));
        return errors;
      },
    });
  }
}

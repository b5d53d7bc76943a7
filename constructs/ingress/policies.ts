import type { ClusterPolicy, PolicyObject } from '../../framework/cluster.js';
import { groupOf, isRecord, type Manifest, objectRef, type Problem } from '../../framework/model.js';
import { isDnsName } from '../../framework/rules/network.js';
import { middlewareProviderName } from './middleware-ref.js';
import { PUBLIC_REASON_ANNOTATION, UPSTREAM_BACKEND_ANNOTATION } from './secure-ingress.js';

const MIDDLEWARES_ANNOTATION = 'traefik.ingress.kubernetes.io/router.middlewares';
/** Why an Ingress routes a wildcard host (it takes every subdomain nothing else routes). */
export const WILDCARD_REASON_ANNOTATION = 'ingress.homelab-cdk8s.io/wildcard-reason';

/**
 * Why an ACME ClusterIssuer cannot issue a certificate for a host, or undefined when one of its
 * solvers can: an HTTP-01 solver (not for wildcards) or a DNS-01 solver whose dnsZones selector,
 * if it has one, holds the host's domain. Issuers of other kinds (CA, Vault) are not judged.
 */
function unsolvable(issuer: Record<string, unknown> | undefined, host: string): string | undefined {
  const spec = isRecord(issuer?.spec) ? issuer.spec : {};
  if (!isRecord(spec.acme)) return undefined;
  const solvers = records(spec.acme.solvers);
  const name = host.replace(/^\*\./, '');
  const inZone = (zones: string[]) => zones.some((zone) => name === zone || name.endsWith(`.${zone}`));
  for (const solver of solvers) {
    const selector = isRecord(solver.selector) ? solver.selector : undefined;
    const zones = strings(selector?.dnsZones);
    const names = strings(selector?.dnsNames);
    if (selector && (zones.length > 0 || names.length > 0) && !inZone(zones) && !names.includes(host)) continue;
    if (isRecord(solver.dns01)) return undefined;
    if (isRecord(solver.http01) && !host.startsWith('*.')) return undefined;
  }
  const zones = solvers.flatMap((solver) => strings(isRecord(solver.selector) ? solver.selector.dnsZones : undefined));
  return host.startsWith('*.') && !solvers.some((solver) => isRecord(solver.dns01))
    ? 'a wildcard needs a DNS-01 solver, and it has none'
    : `no solver of it covers the host${zones.length > 0 ? ` (DNS-01 zones: ${zones.join(', ')})` : ''}; use an issuer whose DNS-01 zones hold it, or an HTTP-01 issuer`;
}

interface Named {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly manifest: Manifest;
}

function named(objects: readonly PolicyObject[], apiGroup: string, kind: string): Named[] {
  return objects
    .filter(({ manifest }) => manifest.kind === kind && groupOf(String(manifest.apiVersion)) === apiGroup)
    .map(({ manifest }) => {
      const ref = objectRef(manifest);
      return { kind, namespace: ref.namespace, name: ref.name ?? '', manifest };
    });
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);

function covers(tlsHost: string, host: string): boolean {
  if (tlsHost === host) return true;
  if (!tlsHost.startsWith('*.')) return false;
  const suffix = tlsHost.slice(1);
  return host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.');
}

/** Every backend `{ service: { name, port } }` of an Ingress, default backend included. */
function backends(spec: Record<string, unknown>): { name: string; port: { name?: string; number?: number } }[] {
  const found: { name: string; port: { name?: string; number?: number } }[] = [];
  const add = (backend: unknown) => {
    if (!isRecord(backend) || !isRecord(backend.service)) return;
    const service = backend.service;
    const port = isRecord(service.port) ? service.port : {};
    found.push({
      name: String(service.name),
      port: {
        name: typeof port.name === 'string' ? port.name : undefined,
        number: typeof port.number === 'number' ? port.number : undefined,
      },
    });
  };
  add(spec.defaultBackend);
  for (const rule of records(spec.rules)) {
    for (const path of records(isRecord(rule.http) ? rule.http.paths : undefined)) add(path.backend);
  }
  return found;
}

export interface IngressPolicyOptions {
  /** Traefik entry points that serve TLS; an Ingress may only be routed on these. @default ['websecure'] */
  readonly tlsEntryPoints?: readonly string[];
}

/**
 * Cluster policy for `networking.k8s.io/v1` Ingresses, rendered or hand-written: TLS covers
 * every host and the route exists only on TLS entry points, a cert-manager issuer that exists
 * signs it, SSO through an existing forward-auth Middleware unless public with a reason, valid
 * and unique hosts and TLS secrets, backends that exist; and one cluster-wide TLSOption `default`.
 */
export function createIngressPolicy(options: IngressPolicyOptions = {}): ClusterPolicy {
  const tlsEntryPoints = options.tlsEntryPoints ?? ['websecure'];
  return { name: 'ingress', check: (objects, context) => checkIngresses(objects, tlsEntryPoints, context?.built ?? false) };
}

export const ingressPolicy: ClusterPolicy = createIngressPolicy();

function checkIngresses(objects: readonly PolicyObject[], tlsEntryPoints: readonly string[], built: boolean): Problem[] {
  const problems: Problem[] = [];
  const clusterIssuers = new Set(named(objects, 'cert-manager.io', 'ClusterIssuer').map((o) => o.name));
  const issuerManifests = new Map(named(objects, 'cert-manager.io', 'ClusterIssuer').map((o) => [o.name, o.manifest]));
  const issuers = new Set(named(objects, 'cert-manager.io', 'Issuer').map((o) => `${o.namespace}/${o.name}`));
  const middlewares = new Map(
    named(objects, 'traefik.io', 'Middleware').map((o) => [middlewareProviderName({ namespace: o.namespace ?? '', name: o.name }), o]),
  );
  const services = new Map(named(objects, '', 'Service').map((o) => [`${o.namespace}/${o.name}`, o.manifest]));
  const hostOwners = new Map<string, string>();
  const secretHosts = new Map<string, { hosts: string; owner: string }>();
  const defaultTlsOptions = named(objects, 'traefik.io', 'TLSOption').filter((o) => o.name === 'default');
  if (defaultTlsOptions.length > 1) {
    for (const option of defaultTlsOptions.slice(1)) {
      const object = objects.find((candidate) => candidate.manifest === option.manifest);
      problems.push({
        origin: object?.origin ?? {},
        object: objectRef(option.manifest),
        rule: 'policy.ingress.tls-options',
        message: 'a second TLSOption named "default": Traefik then ignores every default and falls back to its built-in TLS settings',
      });
    }
  }

  for (const object of objects) {
    const { manifest, origin } = object;
    if (manifest.kind !== 'Ingress' || manifest.apiVersion !== 'networking.k8s.io/v1') continue;
    const ref = objectRef(manifest);
    const report = (rule: string, message: string) => problems.push({ origin, object: ref, rule: `policy.ingress.${rule}`, message });
    const spec = isRecord(manifest.spec) ? manifest.spec : {};
    const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
    const annotations = isRecord(metadata.annotations) ? (metadata.annotations as Record<string, unknown>) : {};
    const namespace = ref.namespace ?? '';

    const tlsHosts = records(spec.tls).flatMap((tls) => strings(tls.hosts));
    if (spec.defaultBackend !== undefined) {
      report('tls', 'has a defaultBackend, a catch-all for any host without TLS or a certificate; route named hosts instead');
    }
    const entryPoints =
      typeof annotations['traefik.ingress.kubernetes.io/router.entrypoints'] === 'string'
        ? (annotations['traefik.ingress.kubernetes.io/router.entrypoints'] as string).split(',').map((e) => e.trim())
        : [];
    const offTls = entryPoints.filter((entryPoint) => !tlsEntryPoints.includes(entryPoint));
    if (entryPoints.length === 0 || offTls.length > 0) {
      report(
        'tls',
        `must be routed only on the TLS entry point${tlsEntryPoints.length > 1 ? 's' : ''} ${tlsEntryPoints.join(', ')} (annotation traefik.ingress.kubernetes.io/router.entrypoints${offTls.length > 0 ? `; has ${offTls.join(', ')}` : ''})`,
      );
    }
    if (annotations['traefik.ingress.kubernetes.io/router.tls'] !== 'true') {
      report('tls', 'must set traefik.ingress.kubernetes.io/router.tls: "true"');
    }
    const ruleHosts: string[] = [];
    for (const rule of records(spec.rules)) {
      if (typeof rule.host !== 'string') report('tls', 'has a rule without a host: TLS needs every rule to name its host');
      else ruleHosts.push(rule.host);
    }
    for (const host of [...new Set([...ruleHosts, ...tlsHosts])]) {
      if (!isDnsName(host, { wildcard: true, minLabels: 2 })) report('host', `host "${host}" is not a valid DNS name`);
    }
    const wildcardReason = annotations[WILDCARD_REASON_ANNOTATION];
    for (const host of new Set(ruleHosts.filter((candidate) => candidate.startsWith('*.')))) {
      if (typeof wildcardReason !== 'string' || wildcardReason.trim() === '') {
        report(
          'host',
          `host "${host}" is a wildcard: it captures every subdomain no other route claims; name the hosts, or give the reason in annotation ${WILDCARD_REASON_ANNOTATION}`,
        );
      }
    }
    for (const host of ruleHosts) {
      if (!tlsHosts.some((tlsHost) => covers(tlsHost, host))) report('tls', `host "${host}" is not covered by any spec.tls entry`);
    }
    for (const tls of records(spec.tls)) {
      if (typeof tls.secretName !== 'string' || tls.secretName.length === 0) {
        report('tls', 'a spec.tls entry has no secretName');
        continue;
      }
      const key = `${namespace}/${tls.secretName}`;
      const hosts = [...strings(tls.hosts)].sort().join(',');
      const seen = secretHosts.get(key);
      if (seen && seen.hosts !== hosts) {
        report(
          'tls',
          `TLS secret ${tls.secretName} is already used by Ingress ${seen.owner} for other hosts; cert-manager keeps one certificate per secret`,
        );
      } else if (!seen) {
        secretHosts.set(key, { hosts, owner: `${namespace}/${ref.name}` });
      }
    }

    const clusterIssuer = annotations['cert-manager.io/cluster-issuer'];
    const issuer = annotations['cert-manager.io/issuer'];
    if (typeof clusterIssuer === 'string' && typeof issuer === 'string') {
      report('issuer', 'names both a ClusterIssuer and an Issuer; cert-manager refuses an Ingress with both annotations');
    } else if (typeof clusterIssuer === 'string') {
      if (!clusterIssuers.has(clusterIssuer)) {
        report('issuer', `names ClusterIssuer "${clusterIssuer}", which does not exist in the cluster`);
      } else {
        for (const host of new Set([...ruleHosts, ...tlsHosts])) {
          const why = unsolvable(issuerManifests.get(clusterIssuer), host);
          if (why) report('issuer', `host "${host}" cannot get a certificate from ClusterIssuer "${clusterIssuer}": ${why}`);
        }
      }
    } else if (typeof issuer === 'string') {
      if (!issuers.has(`${namespace}/${issuer}`))
        report('issuer', `names Issuer "${issuer}", which does not exist in namespace ${namespace}`);
    } else {
      report('issuer', 'names no cert-manager issuer (annotation cert-manager.io/cluster-issuer or cert-manager.io/issuer)');
    }

    const listed =
      typeof annotations[MIDDLEWARES_ANNOTATION] === 'string'
        ? (annotations[MIDDLEWARES_ANNOTATION] as string)
            .split(',')
            .map((entry) => entry.trim())
            .filter(Boolean)
        : [];
    let hasForwardAuth = false;
    for (const entry of listed) {
      if (!entry.endsWith('@kubernetescrd')) {
        report(
          'middleware',
          `uses middleware "${entry}", which is not a Kubernetes CRD middleware (<namespace>-<name>@kubernetescrd) of this cluster`,
        );
        continue;
      }
      const middleware = middlewares.get(entry);
      if (!middleware) {
        report('middleware', `uses middleware "${entry}", which does not exist in the cluster`);
      } else if (isRecord(middleware.manifest.spec) && isRecord(middleware.manifest.spec.forwardAuth)) {
        hasForwardAuth = true;
      }
    }
    const publicReason = annotations[PUBLIC_REASON_ANNOTATION];
    const isPublic = typeof publicReason === 'string' && publicReason.trim().length > 0;
    if (!hasForwardAuth && !isPublic) {
      report('sso', `has no forward-auth middleware; add SSO or mark it public with a reason (annotation ${PUBLIC_REASON_ANNOTATION})`);
    }

    for (const host of new Set(ruleHosts)) {
      const owner = hostOwners.get(host);
      const self = `${namespace}/${ref.name}`;
      if (owner && owner !== self) report('host', `host "${host}" is already claimed by Ingress ${owner}`);
      else hostOwners.set(host, self);
    }

    const allBackends = [
      spec.defaultBackend,
      ...records(spec.rules).flatMap((rule) => records(isRecord(rule.http) ? rule.http.paths : undefined).map((path) => path.backend)),
    ];
    if (allBackends.some((backend) => isRecord(backend) && backend.resource !== undefined)) {
      report('backend', 'has a resource backend, which Traefik does not route; use a Service');
    }
    const upstream = annotations[UPSTREAM_BACKEND_ANNOTATION];
    // A backend an upstream manifest provides is checked once the deep build sees that manifest.
    const backendsToCheck = typeof upstream === 'string' && upstream.trim().length > 0 && !built ? [] : backends(spec);
    for (const backend of backendsToCheck) {
      const service = services.get(`${namespace}/${backend.name}`);
      if (!service) {
        report('backend', `backend Service "${backend.name}" does not exist in namespace ${namespace}`);
        continue;
      }
      if (isRecord(service.spec) && service.spec.type === 'ExternalName') {
        report(
          'backend',
          `backend Service ${namespace}/${backend.name} is an ExternalName Service, which Traefik refuses by default (and would let a route reach any address)`,
        );
        continue;
      }
      if (backend.port.name === undefined && backend.port.number === undefined) {
        report('backend', `backend Service ${namespace}/${backend.name} is named without a port`);
        continue;
      }
      const ports = records(isRecord(service.spec) ? service.spec.ports : undefined);
      const matches =
        backend.port.name !== undefined
          ? ports.some((port) => port.name === backend.port.name)
          : ports.some((port) => port.port === backend.port.number);
      if (!matches) {
        const wanted = backend.port.name !== undefined ? `named "${backend.port.name}"` : `number ${backend.port.number}`;
        report('backend', `backend Service ${namespace}/${backend.name} has no port ${wanted}`);
      }
    }
  }
  return problems;
}

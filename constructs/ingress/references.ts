import { isRecord, type Manifest } from '../../framework/model.js';
import type { ObjectReference, ReferenceFinder } from '../../framework/references.js';

const MIDDLEWARES_ANNOTATION = 'traefik.ingress.kubernetes.io/router.middlewares';

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** `<namespace>-<name>@kubernetescrd` names a Middleware; the split of namespace and name is ambiguous, so every split is a candidate. */
function middlewareCandidates(entry: string, field: string): ObjectReference[] {
  if (!entry.endsWith('@kubernetescrd')) return [];
  const joined = entry.slice(0, -'@kubernetescrd'.length);
  const out: ObjectReference[] = [];
  for (let index = joined.indexOf('-'); index > 0; index = joined.indexOf('-', index + 1)) {
    out.push({ group: 'traefik.io', kind: 'Middleware', namespace: joined.slice(0, index), name: joined.slice(index + 1), field });
  }
  return out;
}

/** What an Ingress or a Traefik IngressRoute names: its class, issuer, middlewares and TLS options. */
export const ingressReferences: ReferenceFinder = (manifest: Manifest) => {
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : undefined;
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const spec = isRecord(manifest.spec) ? manifest.spec : {};
  const out: ObjectReference[] = [];
  if (manifest.apiVersion === 'networking.k8s.io/v1' && manifest.kind === 'Ingress') {
    if (typeof spec.ingressClassName === 'string') {
      out.push({ group: 'networking.k8s.io', kind: 'IngressClass', name: spec.ingressClassName, field: 'spec.ingressClassName' });
    }
    const clusterIssuer = annotations['cert-manager.io/cluster-issuer'];
    if (typeof clusterIssuer === 'string') {
      out.push({
        group: 'cert-manager.io',
        kind: 'ClusterIssuer',
        name: clusterIssuer,
        field: 'annotation cert-manager.io/cluster-issuer',
      });
    }
    const issuer = annotations['cert-manager.io/issuer'];
    if (typeof issuer === 'string')
      out.push({ group: 'cert-manager.io', kind: 'Issuer', namespace, name: issuer, field: 'annotation cert-manager.io/issuer' });
    const middlewares = annotations[MIDDLEWARES_ANNOTATION];
    if (typeof middlewares === 'string') {
      for (const entry of middlewares.split(',')) out.push(...middlewareCandidates(entry.trim(), `annotation ${MIDDLEWARES_ANNOTATION}`));
    }
  }
  if (manifest.apiVersion === 'traefik.io/v1alpha1' && manifest.kind === 'IngressRoute') {
    records(spec.routes).forEach((route, index) => {
      for (const middleware of records(route.middlewares)) {
        if (typeof middleware.name !== 'string') continue;
        const where = typeof middleware.namespace === 'string' ? middleware.namespace : namespace;
        out.push({
          group: 'traefik.io',
          kind: 'Middleware',
          namespace: where,
          name: middleware.name,
          field: `spec.routes[${index}].middlewares`,
        });
      }
    });
    const options = isRecord(spec.tls) && isRecord(spec.tls.options) ? spec.tls.options : undefined;
    if (options && typeof options.name === 'string') {
      const where = typeof options.namespace === 'string' ? options.namespace : namespace;
      out.push({ group: 'traefik.io', kind: 'TLSOption', namespace: where, name: options.name, field: 'spec.tls.options' });
    }
  }
  return out;
};

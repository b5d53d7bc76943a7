/**
 * The danger rules of `npm run diff`: changes the API server refuses (immutable fields), changes
 * that lose data when ArgoCD syncs them, and changes that widen exposure or privilege. Each rule
 * is one entry of DANGER_RULES: an id, a one-line reason, and a function of an object's change
 * (or an app folder's) that returns what it found, one line per finding. Rules speak of kinds
 * and fields, never of a component.
 */
import { compareStrings, isRecord, type Manifest } from '../../framework/model.js';
import { type AppChange, type DistDiff, type DistObject, describeRef, ENCRYPTED, type ObjectChange, type ObjectRef } from './compare.js';
import { deepEqual, type FieldChange, showValue } from './values.js';

export interface Danger {
  readonly rule: string;
  readonly reason: string;
  readonly cluster: string;
  readonly app: string;
  /** `Deployment traefik/traefik`; absent for a finding about a whole app folder. */
  readonly object?: string;
  readonly detail: string;
  /** Accepted on purpose (`--allow RULE`). */
  readonly allowed: boolean;
}

export interface RuleContext {
  readonly objectsOf: DistDiff['objectsOf'];
  readonly appsOf: DistDiff['appsOf'];
}

export interface DangerRule {
  readonly id: string;
  /** Why such a change is dangerous, in one line. */
  readonly reason: string;
  readonly object?: (change: ObjectChange, context: RuleContext) => readonly string[];
  readonly app?: (change: AppChange, context: RuleContext) => readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Helpers

const is = (change: ObjectChange, group: string, ...kinds: string[]) => change.ref.group === group && kinds.includes(change.ref.kind);

/** The changed fields at or below one of the paths. */
function under(change: ObjectChange, ...paths: string[]): FieldChange[] {
  return change.fields.filter((field) =>
    paths.some((path) => field.path === path || field.path.startsWith(`${path}.`) || field.path.startsWith(`${path}[`)),
  );
}

function describeFields(fields: readonly FieldChange[]): string[] {
  return fields.map((field) => `${field.path}: ${showValue(field.before, 60)} → ${showValue(field.after, 60)}`);
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

/** ArgoCD's sync options of an object (`argocd.argoproj.io/sync-options: Prune=false,ServerSideApply=true`). */
function syncOptions(manifest: Manifest | undefined): string[] {
  const value = at(manifest, 'metadata', 'annotations', 'argocd.argoproj.io/sync-options');
  return typeof value === 'string' ? value.split(',').map((option) => option.trim()) : [];
}

/** A removed object ArgoCD deletes: one without `Prune=false` (which leaves it in the cluster), and not moved to another app. */
function pruned(change: ObjectChange): boolean {
  return change.change === 'removed' && change.moved === undefined && !syncOptions(change.before).includes('Prune=false');
}

/**
 * An object ArgoCD deletes and creates again rather than updates: `Replace=true` (with or without
 * `Force=true`), or a sync hook (ArgoCD's or Helm's annotation), which runs anew each time.
 */
export function recreated(change: ObjectChange): boolean {
  const annotations = at(change.after, 'metadata', 'annotations');
  return (
    syncOptions(change.after).includes('Replace=true') ||
    (isRecord(annotations) && (annotations['argocd.argoproj.io/hook'] !== undefined || annotations['helm.sh/hook'] !== undefined))
  );
}

/** Kinds whose object holds data or other objects: what a move between apps puts at risk. */
function holdsData(change: ObjectChange): boolean {
  return (
    is(change, '', 'PersistentVolumeClaim', 'Namespace') ||
    is(change, 'apiextensions.k8s.io', 'CustomResourceDefinition') ||
    is(change, 'apps', 'StatefulSet') ||
    holdsClaimTemplates(at(change.before, 'spec'))
  );
}

/** ArgoCD's cascade finalizers: with one, deleting the Application deletes every resource it manages. */
const CASCADE_FINALIZER = /^resources-finalizer\.argocd\.argoproj\.io(\/(background|foreground))?$/;

function cascades(application: Manifest | undefined): boolean {
  const finalizers = at(application, 'metadata', 'finalizers');
  return Array.isArray(finalizers) && finalizers.some((name) => typeof name === 'string' && CASCADE_FINALIZER.test(name));
}

const WORKLOADS: Record<string, readonly string[]> = {
  '/Pod': ['spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

function podSpec(change: ObjectChange, manifest: Manifest | undefined): Record<string, unknown> | undefined {
  const path = WORKLOADS[`${change.ref.group}/${change.ref.kind}`];
  const spec = path ? at(manifest, ...path) : undefined;
  return isRecord(spec) ? spec : undefined;
}

function containersOf(spec: Record<string, unknown> | undefined): Record<string, unknown>[] {
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((field) => listOf(spec?.[field]).filter(isRecord));
}

/** What a pod spec has of one kind of privilege, as lines; a rule reports those the change adds. */
function added(change: ObjectChange, features: (spec: Record<string, unknown> | undefined) => string[]): string[] {
  if (change.change === 'removed') return [];
  const now = features(podSpec(change, change.after));
  if (now.length === 0) return [];
  const before = new Set(change.change === 'changed' ? features(podSpec(change, change.before)) : []);
  return now.filter((feature) => !before.has(feature));
}

function quantity(text: unknown): number | undefined {
  if (typeof text === 'number') return text;
  if (typeof text !== 'string') return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/.exec(text);
  if (!match) return undefined;
  const factors: Record<string, number> = {
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  return Number(match[1]) * (match[2] ? (factors[match[2]] ?? 1) : 1);
}

// ---------------------------------------------------------------------------------------------
// Ingress hosts, TLS and authentication (Ingress, Traefik IngressRoute, Gateway API HTTPRoute)

const MIDDLEWARES_ANNOTATION = 'traefik.ingress.kubernetes.io/router.middlewares';
const TRAEFIK_GROUPS = new Set(['traefik.io', 'traefik.containo.us']);
const AUTH_MIDDLEWARE = ['forwardAuth', 'basicAuth', 'digestAuth'];
const AUTH_ANNOTATIONS = [
  'nginx.ingress.kubernetes.io/auth-url',
  'nginx.ingress.kubernetes.io/auth-type',
  'nginx.ingress.kubernetes.io/auth-signin',
];

/** What the ingress helpers need of an object: its identity. */
type Subject = { readonly ref: ObjectRef };

const isIngress = (subject: Subject) => subject.ref.group === 'networking.k8s.io' && subject.ref.kind === 'Ingress';
const isIngressRoute = (subject: Subject) => TRAEFIK_GROUPS.has(subject.ref.group) && subject.ref.kind === 'IngressRoute';
const isHttpRoute = (subject: Subject) => subject.ref.group === 'gateway.networking.k8s.io' && subject.ref.kind === 'HTTPRoute';

function routeHosts(match: unknown): string[] {
  if (typeof match !== 'string') return [];
  return [...match.matchAll(/Host(?:SNI)?\(([^)]*)\)/g)].flatMap((found) =>
    [...(found[1] ?? '').matchAll(/[`"]([^`"]+)[`"]/g)].map((host) => (host[1] as string).toLowerCase()),
  );
}

function hostsOf(change: Subject, manifest: Manifest | undefined): string[] {
  if (!manifest) return [];
  if (isIngress(change))
    return listOf(at(manifest, 'spec', 'rules')).flatMap((rule) =>
      typeof at(rule, 'host') === 'string' ? [(at(rule, 'host') as string).toLowerCase()] : [],
    );
  if (isIngressRoute(change)) return listOf(at(manifest, 'spec', 'routes')).flatMap((route) => routeHosts(at(route, 'match')));
  if (isHttpRoute(change)) {
    return listOf(at(manifest, 'spec', 'hostnames'))
      .filter((host): host is string => typeof host === 'string')
      .map((host) => host.toLowerCase());
  }
  return [];
}

/** The hosts an ingress serves over TLS: those its TLS entries name (a wildcard covers one label; an entry without hosts covers all). */
function tlsHosts(change: Subject, manifest: Manifest | undefined): Set<string> {
  if (!manifest) return new Set();
  const served = hostsOf(change, manifest);
  if (isIngress(change)) {
    const entries = listOf(at(manifest, 'spec', 'tls'));
    const names = entries.flatMap((entry) =>
      listOf(at(entry, 'hosts'))
        .filter((host): host is string => typeof host === 'string')
        .map((host) => host.toLowerCase()),
    );
    const covers = (host: string) =>
      names.some(
        (name) =>
          name === host || (name.startsWith('*.') && host.endsWith(name.slice(1)) && !host.slice(0, -(name.length - 1)).includes('.')),
      );
    const all =
      entries.some((entry) => listOf(at(entry, 'hosts')).length === 0) ||
      at(manifest, 'metadata', 'annotations', 'traefik.ingress.kubernetes.io/router.tls') === 'true';
    return new Set(served.filter((host) => all || covers(host)));
  }
  if (isIngressRoute(change)) return new Set(at(manifest, 'spec', 'tls') !== undefined ? served : []);
  return new Set(served);
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The authentication in front of an ingress: auth middlewares it names (resolved among the cluster's objects) and auth annotations. */
function authOf(change: Subject, manifest: Manifest | undefined, objects: () => readonly DistObject[]): string[] {
  if (!manifest) return [];
  const found: string[] = AUTH_ANNOTATIONS.filter((key) => at(manifest, 'metadata', 'annotations', key) !== undefined);
  const namespace = change.ref.namespace;
  const authenticates = (lookup: (object: DistObject) => boolean, name: string): boolean => {
    const middleware = middlewaresOf(objects).find(lookup);
    return middleware ? middlewareAuthenticates(middleware, objects) : /auth/i.test(name);
  };
  if (isIngress(change)) {
    const annotation = at(manifest, 'metadata', 'annotations', MIDDLEWARES_ANNOTATION);
    for (const entry of typeof annotation === 'string' ? annotation.split(',') : []) {
      const reference = entry.trim().replace(/@kubernetescrd$/, '');
      if (authenticates((object) => `${object.ref.namespace}-${object.ref.name}` === reference, reference))
        found.push(`middleware ${entry.trim()}`);
    }
  }
  if (isIngressRoute(change)) {
    for (const route of listOf(at(manifest, 'spec', 'routes'))) {
      for (const entry of listOf(at(route, 'middlewares'))) {
        const name = at(entry, 'name');
        const ns = (at(entry, 'namespace') as string | undefined) ?? namespace;
        if (typeof name === 'string' && authenticates((object) => object.ref.name === name && object.ref.namespace === ns, name))
          found.push(`middleware ${ns}/${name}`);
      }
    }
  }
  return [...new Set(found)].sort(compareStrings);
}

const isMiddleware = (subject: Subject) => TRAEFIK_GROUPS.has(subject.ref.group) && subject.ref.kind === 'Middleware';

/** The ways a Middleware authenticates itself (not through a chain). */
function middlewareAuth(manifest: Manifest | undefined): string[] {
  return AUTH_MIDDLEWARE.filter((key) => at(manifest, 'spec', key) !== undefined);
}

/** The labels a kustomization adds to every selector: its commonLabels and the pairs of its labels with includeSelectors. */
function selectorLabels(kustomization: Manifest | undefined): Map<string, unknown> {
  const labels = new Map<string, unknown>();
  const add = (pairs: unknown) => {
    if (isRecord(pairs)) for (const [key, value] of Object.entries(pairs)) labels.set(key, value);
  };
  add(at(kustomization, 'commonLabels'));
  for (const entry of listOf(at(kustomization, 'labels'))) if (at(entry, 'includeSelectors') === true) add(at(entry, 'pairs'));
  return labels;
}

function middlewaresOf(objects: () => readonly DistObject[]): DistObject[] {
  return objects().filter((object) => TRAEFIK_GROUPS.has(object.ref.group) && object.ref.kind === 'Middleware');
}

/** Whether a Traefik Middleware authenticates: itself, or through a middleware of its chain (resolved among the cluster's objects; one not found counts when its name says auth). */
function middlewareAuthenticates(
  middleware: Pick<DistObject, 'ref' | 'manifest'>,
  objects: () => readonly DistObject[],
  depth = 0,
): boolean {
  const spec = at(middleware.manifest, 'spec');
  if (AUTH_MIDDLEWARE.some((key) => at(spec, key) !== undefined)) return true;
  return (
    depth < 4 &&
    listOf(at(spec, 'chain', 'middlewares')).some((entry) => {
      const name = at(entry, 'name');
      if (typeof name !== 'string') return false;
      const namespace = (at(entry, 'namespace') as string | undefined) ?? middleware.ref.namespace;
      const found = middlewaresOf(objects).find((object) => object.ref.name === name && object.ref.namespace === namespace);
      return found ? middlewareAuthenticates(found, objects, depth + 1) : /auth/i.test(name);
    })
  );
}

/** The Rules with a wildcard of a Role or ClusterRole. */
function wildcardRules(manifest: Manifest | undefined): unknown[] {
  return listOf(at(manifest, 'rules')).filter((rule) =>
    ['verbs', 'resources', 'apiGroups', 'nonResourceURLs'].some((field) => listOf(at(rule, field)).includes('*')),
  );
}

// ---------------------------------------------------------------------------------------------
// The rules

const STATEFUL_OBJECT_FIELDS = ['volumeClaimTemplate', 'volumeClaimTemplates'];

const countObjects = (count: number) => (count === 1 ? 'the 1 object' : `all ${count} objects`);

function holdsClaimTemplates(value: unknown, depth = 0): boolean {
  if (depth > 6 || !isRecord(value)) return false;
  return Object.entries(value).some(([key, item]) => STATEFUL_OBJECT_FIELDS.includes(key) || holdsClaimTemplates(item, depth + 1));
}

function removedKind(group: string, kinds: string[], detail: (change: ObjectChange, context: RuleContext) => string) {
  return (change: ObjectChange, context: RuleContext): string[] =>
    is(change, group, ...kinds) && pruned(change) ? [detail(change, context)] : [];
}

export const DANGER_RULES: readonly DangerRule[] = [
  {
    id: 'immutable.selector',
    reason:
      "a workload's spec.selector is immutable: the API server refuses the update and the sync fails until the object is deleted and created again",
    object: (change) =>
      change.change === 'changed' &&
      (is(change, 'apps', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet') || is(change, 'batch', 'Job'))
        ? describeFields(under(change, 'spec.selector'))
        : [],
  },
  {
    id: 'immutable.statefulset',
    reason:
      "a StatefulSet's volumeClaimTemplates, serviceName and podManagementPolicy cannot be updated: the sync fails until the StatefulSet is deleted (orphaning its pods) and created again",
    object: (change) =>
      change.change === 'changed' && is(change, 'apps', 'StatefulSet')
        ? describeFields(under(change, 'spec.volumeClaimTemplates', 'spec.serviceName', 'spec.podManagementPolicy'))
        : [],
  },
  {
    id: 'immutable.job-template',
    reason: "a Job's spec.template is immutable: the update is refused; the Job must be deleted and run again",
    object: (change) => (change.change === 'changed' && is(change, 'batch', 'Job') ? describeFields(under(change, 'spec.template')) : []),
  },
  {
    id: 'immutable.service-cluster-ip',
    reason: "a Service's clusterIP and clusterIPs cannot change once allocated: the update is refused (and clients cache the old address)",
    object: (change) =>
      change.change === 'changed' && is(change, '', 'Service') ? describeFields(under(change, 'spec.clusterIP', 'spec.clusterIPs')) : [],
  },
  {
    id: 'immutable.service-external-name',
    reason:
      'a Service changing to or from type ExternalName drops or allocates its cluster IP: clients of the old address break, and an apply that keeps clusterIP is refused',
    object: (change) => {
      if (change.change !== 'changed' || !is(change, '', 'Service')) return [];
      const before = at(change.before, 'spec', 'type');
      const after = at(change.after, 'spec', 'type');
      return before !== after && (before === 'ExternalName' || after === 'ExternalName')
        ? [`spec.type: ${showValue(before ?? 'ClusterIP')} → ${showValue(after ?? 'ClusterIP')}`]
        : [];
    },
  },
  {
    id: 'immutable.pvc',
    reason:
      "a PersistentVolumeClaim's spec is immutable once bound, except its storage request (which may only grow) and volumeAttributesClassName: the update is refused",
    object: (change) =>
      change.change === 'changed' && is(change, '', 'PersistentVolumeClaim')
        ? describeFields(under(change, 'spec').filter((field) => !/^spec\.(resources|volumeAttributesClassName)\b/.test(field.path)))
        : [],
  },
  {
    id: 'immutable.pvc-shrink',
    reason: "a PersistentVolumeClaim's storage request can only grow: a smaller request is refused",
    object: (change) => {
      if (change.change !== 'changed' || !is(change, '', 'PersistentVolumeClaim')) return [];
      const before = at(change.before, 'spec', 'resources', 'requests', 'storage');
      const after = at(change.after, 'spec', 'resources', 'requests', 'storage');
      const [old, now] = [quantity(before), quantity(after)];
      return old !== undefined && now !== undefined && now < old
        ? [`spec.resources.requests.storage: ${showValue(before)} → ${showValue(after)}`]
        : [];
    },
  },
  {
    id: 'immutable.storage-class',
    reason:
      "a StorageClass's provisioner, parameters, reclaimPolicy and volumeBindingMode cannot be updated: the sync fails until the class is deleted and created again",
    object: (change) =>
      change.change === 'changed' && is(change, 'storage.k8s.io', 'StorageClass')
        ? describeFields(under(change, 'provisioner', 'parameters', 'reclaimPolicy', 'volumeBindingMode'))
        : [],
  },
  {
    id: 'immutable.csi-driver',
    reason: "a CSIDriver's attachRequired and volumeLifecycleModes are immutable (Kubernetes 1.35 API): the update is refused",
    object: (change) =>
      change.change === 'changed' && is(change, 'storage.k8s.io', 'CSIDriver')
        ? describeFields(under(change, 'spec.attachRequired', 'spec.volumeLifecycleModes'))
        : [],
  },
  {
    id: 'immutable.role-ref',
    reason:
      "a RoleBinding's or ClusterRoleBinding's roleRef is immutable: the update is refused; bind the new role with a binding of another name",
    object: (change) =>
      change.change === 'changed' && is(change, 'rbac.authorization.k8s.io', 'RoleBinding', 'ClusterRoleBinding')
        ? describeFields(under(change, 'roleRef'))
        : [],
  },
  {
    id: 'immutable.data',
    reason:
      'a ConfigMap or Secret marked immutable: true cannot change its data or become mutable: the update is refused; give the new data a new name',
    object: (change) => {
      if (change.change !== 'changed' || !is(change, '', 'ConfigMap', 'Secret') || at(change.before, 'immutable') !== true) return [];
      const found = describeFields(under(change, 'data', 'stringData', 'binaryData', 'immutable'));
      const sops = change.sops;
      if (sops && (sops.keysAdded.length > 0 || sops.keysRemoved.length > 0))
        found.push(`keys ${[...sops.keysAdded.map((key) => `+${key}`), ...sops.keysRemoved.map((key) => `-${key}`)].join(' ')}`);
      else if (sops?.reencrypted) found.push('re-encrypted, so its values may have changed');
      return found.map((line) => line.replaceAll(JSON.stringify(ENCRYPTED), ENCRYPTED));
    },
  },
  {
    id: 'data-loss.removed-pvc',
    reason: 'removing a PersistentVolumeClaim makes ArgoCD delete it, and with reclaimPolicy Delete its volume and data',
    object: removedKind(
      '',
      ['PersistentVolumeClaim'],
      () => 'removed: pruned on sync (keep it with the annotation argocd.argoproj.io/sync-options: Prune=false)',
    ),
  },
  {
    id: 'data-loss.removed-namespace',
    reason: 'removing a Namespace makes ArgoCD delete it, and the API server then deletes every object in it (claims, secrets, workloads)',
    object: removedKind('', ['Namespace'], (change, context) => {
      const inside = context
        .objectsOf('before', change.cluster)
        .filter((object) => object.ref.namespace === change.ref.name && object.ref.kind !== 'Namespace').length;
      return `removed: deletes everything in namespace ${change.ref.name} (${inside} objects of dist/, and whatever upstream files and charts put there)`;
    }),
  },
  {
    id: 'data-loss.removed-crd',
    reason: 'removing a CustomResourceDefinition deletes every custom resource of its kind, in every namespace',
    object: removedKind('apiextensions.k8s.io', ['CustomResourceDefinition'], (change, context) => {
      const group = at(change.before, 'spec', 'group');
      const kind = at(change.before, 'spec', 'names', 'kind');
      const count = context
        .objectsOf('before', change.cluster)
        .filter((object) => object.ref.group === group && object.ref.kind === kind).length;
      return `removed: every ${String(kind)} (${String(group)}) goes with it (${count} in dist/, and any made outside it)`;
    }),
  },
  {
    id: 'data-loss.removed-storage-class',
    reason:
      'removing a StorageClass stops provisioning for every claim that names it; a class created again with other settings changes what happens to the volumes',
    object: removedKind('storage.k8s.io', ['StorageClass'], () => 'removed: claims naming it stay Pending'),
  },
  {
    id: 'data-loss.removed-snapshot-class',
    reason: 'removing a VolumeSnapshotClass leaves its snapshots without the class their deletion and restore read (driver and secrets)',
    object: removedKind(
      'snapshot.storage.k8s.io',
      ['VolumeSnapshotClass'],
      () => 'removed: snapshots of the class can no longer be cleaned up through it',
    ),
  },
  {
    id: 'data-loss.cascade-application',
    reason:
      'removing an Application that carries the resources finalizer makes ArgoCD delete every resource it manages (an ApplicationSet: every Application it generated)',
    object: (change) => {
      if (!pruned(change) || change.ref.group !== 'argoproj.io') return [];
      if (change.ref.kind === 'Application' && cascades(change.before)) {
        return [
          `removed with finalizer ${listOf(at(change.before, 'metadata', 'finalizers')).join(', ')}: ArgoCD deletes what it deployed from ${showValue(at(change.before, 'spec', 'source', 'path') ?? 'its source')}`,
        ];
      }
      if (change.ref.kind === 'ApplicationSet' && at(change.before, 'spec', 'syncPolicy', 'preserveResourcesOnDeletion') !== true) {
        const template = at(change.before, 'spec', 'template');
        const cascade = cascades(template as Manifest | undefined) ? ', and their resources finalizer deletes what they deployed' : '';
        return [`removed: ArgoCD deletes the Applications it generated${cascade} (spec.syncPolicy.preserveResourcesOnDeletion keeps them)`];
      }
      return [];
    },
  },
  {
    id: 'data-loss.removed-app',
    reason:
      'removing an app folder removes everything ArgoCD synced from it: its Application either deletes it all (cascade) or, left in place, fails on a missing path',
    app: (change, context) => {
      if (change.change !== 'removed') return [];
      const path = `/${change.cluster}/${change.app}`;
      const pointsHere = (object: DistObject) => {
        if (object.ref.kind !== 'Application' || object.ref.group !== 'argoproj.io') return false;
        const paths = [
          at(object.manifest, 'spec', 'source', 'path'),
          ...listOf(at(object.manifest, 'spec', 'sources')).map((source) => at(source, 'path')),
        ];
        return paths.some((value) => typeof value === 'string' && `/${value.replace(/\/+$/, '')}`.endsWith(path));
      };
      const still = context.objectsOf('after', change.cluster).find(pointsHere);
      if (still) return [`the folder is gone but Application ${still.ref.name} still points at it: its syncs fail on a missing path`];
      const was = context.objectsOf('before', change.cluster).find(pointsHere);
      if (was && cascades(was.manifest))
        return [
          `Application ${was.ref.name} is removed too, with its cascade finalizer: ArgoCD deletes ${countObjects(change.objects.length)} of the folder and what its upstream files and charts made`,
        ];
      return [
        `${countObjects(change.objects.length)} of the folder leave git; ${was ? `Application ${was.ref.name} goes without a cascade finalizer, so they stay in the cluster unmanaged` : 'no Application of dist/ pointed at it'}`,
      ];
    },
  },
  {
    id: 'data-loss.moved-object',
    reason:
      "an object moved to another app is deleted by its old app's prune if that app syncs before the new one takes it over: keep it with Prune=false across the move",
    object: (change) =>
      change.change === 'removed' && change.moved !== undefined && holdsData(change) && !syncOptions(change.before).includes('Prune=false')
        ? [
            `moved to app ${change.moved}: annotate it argocd.argoproj.io/sync-options: Prune=false in ${change.app} first, or sync ${change.moved} before ${change.app}`,
          ]
        : [],
  },
  {
    id: 'data-loss.prune-stateful',
    reason:
      'removing a stateful workload (a StatefulSet, or any object that makes volume claims from a template) makes ArgoCD delete it: its pods go and, with a Delete retention policy, its volumes',
    object: (change) =>
      pruned(change) &&
      (is(change, 'apps', 'StatefulSet') || (change.ref.kind !== 'PersistentVolumeClaim' && holdsClaimTemplates(at(change.before, 'spec'))))
        ? ['removed: pruned on sync (keep it with the annotation argocd.argoproj.io/sync-options: Prune=false)']
        : [],
  },
  {
    id: 'exposure.ingress-sso',
    reason:
      'an ingress that loses its authentication (a forward-auth, basic or digest auth middleware, or auth annotations) serves its backend to anyone who reaches it',
    object: (change, context) => {
      if (change.change === 'changed' && isMiddleware(change)) {
        const lost = middlewareAuth(change.before).filter((key) => !middlewareAuth(change.after).includes(key));
        const still =
          change.after !== undefined &&
          middlewareAuthenticates({ ref: change.ref, manifest: change.after }, () => context.objectsOf('after', change.cluster));
        return lost.length > 0 && !still
          ? [`the middleware no longer authenticates (${lost.join(', ')} removed): every ingress naming it is open`]
          : [];
      }
      if (change.change === 'removed' || !(isIngress(change) || isIngressRoute(change))) return [];
      const after = authOf(change, change.after, () => context.objectsOf('after', change.cluster));
      if (after.length > 0) return [];
      if (change.change === 'changed') {
        const before = authOf(change, change.before, () => context.objectsOf('before', change.cluster));
        return before.length > 0 ? [`authentication removed: ${before.join(', ')}`] : [];
      }
      // A new ingress serving, without authentication, a host an authenticated one served.
      const hosts = new Set(hostsOf(change, change.after));
      const covered = context
        .objectsOf('before', change.cluster)
        .filter(
          (object) => (isIngress(object) || isIngressRoute(object)) && hostsOf(object, object.manifest).some((host) => hosts.has(host)),
        )
        .filter((object) => authOf(object, object.manifest, () => context.objectsOf('before', change.cluster)).length > 0);
      return covered.map(
        (object) =>
          `serves ${hostsOf(object, object.manifest)
            .filter((host) => hosts.has(host))
            .join(', ')} without the authentication ${describeRef(object.ref)} had`,
      );
    },
  },
  {
    id: 'exposure.ingress-tls',
    reason: 'an ingress host that loses TLS is served in plain HTTP: credentials and cookies cross the network readable',
    object: (change, context) => {
      if (change.change === 'removed' || !(isIngress(change) || isIngressRoute(change))) return [];
      const after = tlsHosts(change, change.after);
      const served = new Set(hostsOf(change, change.after));
      if (change.change === 'changed') {
        return [...tlsHosts(change, change.before)]
          .filter((host) => served.has(host) && !after.has(host))
          .map((host) => `${host}: TLS removed`);
      }
      // A new ingress serving in plain HTTP a host another served over TLS, which no ingress of the cluster still does.
      const ingresses = (side: 'before' | 'after') =>
        context.objectsOf(side, change.cluster).filter((object) => isIngress(object) || isIngressRoute(object));
      const hadTls = new Set(ingresses('before').flatMap((object) => [...tlsHosts(object, object.manifest)]));
      const hasTls = new Set(ingresses('after').flatMap((object) => [...tlsHosts(object, object.manifest)]));
      return [...served]
        .filter((host) => !after.has(host) && hadTls.has(host) && !hasTls.has(host))
        .map((host) => `${host}: served over TLS before, now in plain HTTP by this new ingress`);
    },
  },
  {
    id: 'exposure.new-host',
    reason: 'a host no ingress of the cluster served before is now reachable from outside: check who may reach it and how it authenticates',
    object: (change, context) => {
      if (change.change === 'removed' || !(isIngress(change) || isIngressRoute(change) || isHttpRoute(change))) return [];
      const own = new Set(hostsOf(change, change.before));
      const candidates = hostsOf(change, change.after).filter((host) => !own.has(host));
      if (candidates.length === 0) return [];
      const known = new Set(context.objectsOf('before', change.cluster).flatMap((object) => hostsOf(object, object.manifest)));
      const auth = authOf(change, change.after, () => context.objectsOf('after', change.cluster));
      const behind = auth.length > 0 ? `behind ${auth.join(', ')}` : 'with no authentication in front of it';
      return [...new Set(candidates)].filter((host) => !known.has(host)).map((host) => `${host}: new, ${behind}`);
    },
  },
  {
    id: 'data-loss.renamed-objects',
    reason:
      'a kustomization namePrefix or nameSuffix change renames every object of the app: ArgoCD prunes the old ones and creates new ones (claims and their data, namespaces and what is in them)',
    app: (change) =>
      change.change === 'changed'
        ? change.kustomization
            .filter((entry) => entry.subject === 'kustomization' && /^(namePrefix|nameSuffix)$/.test(entry.path ?? ''))
            .map((entry) => `${entry.path}: ${showValue(entry.before)} → ${showValue(entry.after)}`)
        : [],
  },
  {
    id: 'immutable.common-labels',
    reason:
      "a kustomization's commonLabels (or labels with includeSelectors) go into every workload's selector, which is immutable: each workload's update is refused",
    app: (change) => {
      if (change.change !== 'changed' || !change.kustomizations) return [];
      const before = selectorLabels(change.kustomizations.before);
      const after = selectorLabels(change.kustomizations.after);
      const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
      return keys
        .filter((key) => before.get(key) !== after.get(key))
        .map((key) => `selector label ${key}: ${showValue(before.get(key))} → ${showValue(after.get(key))}`);
    },
  },
  {
    id: 'privilege.privileged',
    reason: 'a privileged container has every capability and the host devices: whoever controls it controls the node',
    object: (change) =>
      added(change, (spec) =>
        containersOf(spec)
          .filter((container) => at(container, 'securityContext', 'privileged') === true)
          .map((container) => `container ${String(container.name)} runs privileged`),
      ),
  },
  {
    id: 'privilege.host-namespaces',
    reason: "a pod in the host's network, PID or IPC namespace sees (and can reach) the node's traffic, processes or shared memory",
    object: (change) =>
      added(change, (spec) =>
        ['hostNetwork', 'hostPID', 'hostIPC'].filter((field) => spec?.[field] === true).map((field) => `${field}: true`),
      ),
  },
  {
    id: 'privilege.host-path',
    reason: "a hostPath volume gives the pod the node's files: a writable one is a way out of the container",
    object: (change) =>
      added(change, (spec) =>
        listOf(spec?.volumes)
          .filter((volume) => isRecord(at(volume, 'hostPath')))
          .map((volume) => `volume ${String(at(volume, 'name'))} mounts host path ${String(at(volume, 'hostPath', 'path'))}`),
      ),
  },
  {
    id: 'privilege.wildcard-rule',
    reason: "a new RBAC rule with '*' grants every verb, resource or group, including ones added later",
    object: (change) => {
      if (change.change === 'removed' || !is(change, 'rbac.authorization.k8s.io', 'ClusterRole', 'Role')) return [];
      const before = change.change === 'changed' ? wildcardRules(change.before) : [];
      return wildcardRules(change.after)
        .filter((rule) => !before.some((old) => deepEqual(old, rule)))
        .map((rule) => `rule ${showValue(rule, 120)}`);
    },
  },
  {
    id: 'exposure.removed-network-policy',
    reason: 'removing a network policy opens the pods it isolated to traffic it refused',
    object: (change) =>
      pruned(change) && /NetworkPolicy$/.test(change.ref.kind) ? [`removed: the pods it selected accept what it refused`] : [],
  },
];

export const DANGER_RULE_IDS: ReadonlySet<string> = new Set(DANGER_RULES.map((rule) => rule.id));

/** Every danger of a diff, in the order of the apps and objects, each marked allowed when its rule is in `allow`. */
export function findDangers(diff: DistDiff, allow: ReadonlySet<string> = new Set(), rules: readonly DangerRule[] = DANGER_RULES): Danger[] {
  const context: RuleContext = { objectsOf: diff.objectsOf, appsOf: diff.appsOf };
  const found: Danger[] = [];
  for (const app of diff.apps) {
    for (const rule of rules) {
      for (const detail of rule.app?.(app, context) ?? []) {
        found.push({ rule: rule.id, reason: rule.reason, cluster: app.cluster, app: app.app, detail, allowed: allow.has(rule.id) });
      }
    }
    for (const change of app.objects) {
      for (const rule of rules) {
        // What ArgoCD deletes and creates again is never updated in place: no immutable field is in the way.
        if (rule.id.startsWith('immutable.') && change.change === 'changed' && recreated(change)) continue;
        for (const detail of rule.object?.(change, context) ?? []) {
          found.push({
            rule: rule.id,
            reason: rule.reason,
            cluster: app.cluster,
            app: app.app,
            object: describeRef(change.ref),
            detail,
            allowed: allow.has(rule.id),
          });
        }
      }
    }
  }
  return found;
}

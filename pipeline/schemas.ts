import { groupOf } from '../framework/model.js';
import { type RegisteredKind, type SchemaCheck, type Scope, schemaViolations } from '../framework/schema.js';

/** What the pipeline knows about an `apiVersion` + `kind`. */
export interface KindInfo {
  readonly apiVersion: string;
  readonly kind: string;
  readonly scope: Scope;
  /** Schema check; absent only for kinds registered explicitly without a schema. */
  readonly check?: SchemaCheck;
  /**
   * Build-time configuration read by kustomize (a Kustomization, a generator), not an object
   * sent to the API server: only its schema applies, none of the metadata rules.
   */
  readonly buildConfig?: boolean;
}

/** A package of `@kubernetes-models` style classes, one module per kind at `<pkg>/<apiVersion>/<Kind>`. */
interface ModelPackage {
  readonly name: string;
  /** API groups this package provides ('' is the core group). */
  readonly groups: ReadonlySet<string>;
}

const KUBERNETES_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);

const MODEL_PACKAGES: readonly ModelPackage[] = [
  { name: 'kubernetes-models', groups: KUBERNETES_GROUPS },
  { name: '@kubernetes-models/cert-manager', groups: new Set(['cert-manager.io', 'acme.cert-manager.io']) },
  { name: '@kubernetes-models/traefik', groups: new Set(['traefik.io']) },
  { name: '@kubernetes-models/argo-cd', groups: new Set(['argoproj.io']) },
  { name: '@kubernetes-models/prometheus-operator', groups: new Set(['monitoring.coreos.com']) },
];

/** Cluster-scoped kinds among the groups the model packages cover; everything else there is namespaced. */
const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'scheduling.k8s.io/PriorityClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'node.k8s.io/RuntimeClass',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/ResourceSlice',
  'cert-manager.io/ClusterIssuer',
  'authentication.k8s.io/TokenReview',
  'authentication.k8s.io/SelfSubjectReview',
  'authorization.k8s.io/SubjectAccessReview',
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
  'policy/PodSecurityPolicy',
]);

/**
 * API versions Kubernetes no longer serves, which kubernetes-models still ships. Keys are an
 * apiVersion (every kind) or `apiVersion/Kind`; values say when it went and what replaces it.
 */
const REMOVED_APIS: Readonly<Record<string, string>> = {
  'extensions/v1beta1': 'removed in Kubernetes 1.22; use apps/v1, networking.k8s.io/v1 or policy/v1',
  'apps/v1beta1': 'removed in Kubernetes 1.16; use apps/v1',
  'apps/v1beta2': 'removed in Kubernetes 1.16; use apps/v1',
  'networking.k8s.io/v1beta1/Ingress': 'removed in Kubernetes 1.22; use networking.k8s.io/v1',
  'networking.k8s.io/v1beta1/IngressClass': 'removed in Kubernetes 1.22; use networking.k8s.io/v1',
  'batch/v1beta1': 'removed in Kubernetes 1.25; use batch/v1',
  'autoscaling/v2beta1': 'removed in Kubernetes 1.25; use autoscaling/v2',
  'autoscaling/v2beta2': 'removed in Kubernetes 1.26; use autoscaling/v2',
  'policy/v1beta1/PodDisruptionBudget': 'removed in Kubernetes 1.25; use policy/v1',
  'policy/v1beta1/PodSecurityPolicy': 'removed in Kubernetes 1.25; use Pod Security Admission namespace labels',
  'rbac.authorization.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use rbac.authorization.k8s.io/v1',
  'rbac.authorization.k8s.io/v1alpha1': 'removed in Kubernetes 1.22; use rbac.authorization.k8s.io/v1',
  'storage.k8s.io/v1beta1/CSIDriver': 'removed in Kubernetes 1.22; use storage.k8s.io/v1',
  'storage.k8s.io/v1beta1/CSINode': 'removed in Kubernetes 1.22; use storage.k8s.io/v1',
  'storage.k8s.io/v1beta1/StorageClass': 'removed in Kubernetes 1.22; use storage.k8s.io/v1',
  'storage.k8s.io/v1beta1/VolumeAttachment': 'removed in Kubernetes 1.22; use storage.k8s.io/v1',
  'storage.k8s.io/v1beta1/CSIStorageCapacity': 'removed in Kubernetes 1.27; use storage.k8s.io/v1',
  'admissionregistration.k8s.io/v1beta1/MutatingWebhookConfiguration': 'removed in Kubernetes 1.22; use admissionregistration.k8s.io/v1',
  'admissionregistration.k8s.io/v1beta1/ValidatingWebhookConfiguration': 'removed in Kubernetes 1.22; use admissionregistration.k8s.io/v1',
  'apiextensions.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use apiextensions.k8s.io/v1',
  'apiregistration.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use apiregistration.k8s.io/v1',
  'certificates.k8s.io/v1beta1/CertificateSigningRequest': 'removed in Kubernetes 1.22; use certificates.k8s.io/v1',
  'coordination.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use coordination.k8s.io/v1',
  'scheduling.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use scheduling.k8s.io/v1',
  'scheduling.k8s.io/v1alpha1': 'removed in Kubernetes 1.22; use scheduling.k8s.io/v1',
  'discovery.k8s.io/v1beta1': 'removed in Kubernetes 1.25; use discovery.k8s.io/v1',
  'events.k8s.io/v1beta1': 'removed in Kubernetes 1.25; use events.k8s.io/v1',
  'node.k8s.io/v1beta1': 'removed in Kubernetes 1.25; use node.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1beta1': 'removed in Kubernetes 1.26; use flowcontrol.apiserver.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1beta2': 'removed in Kubernetes 1.29; use flowcontrol.apiserver.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1beta3': 'removed in Kubernetes 1.32; use flowcontrol.apiserver.k8s.io/v1',
  'authentication.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use authentication.k8s.io/v1',
  'authorization.k8s.io/v1beta1': 'removed in Kubernetes 1.22; use authorization.k8s.io/v1',
};

/** Why Kubernetes no longer serves this apiVersion and kind, or undefined. */
export function removedApi(apiVersion: string, kind: string): string | undefined {
  return REMOVED_APIS[`${apiVersion}/${kind}`] ?? REMOVED_APIS[apiVersion];
}

/** Kinds kustomize reads while building an app folder; they are never sent to the cluster. */
const BUILD_CONFIG_KINDS: readonly RegisteredKind[] = [
  {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    scope: 'Cluster',
    buildConfig: true,
    reason: 'kustomize build configuration',
  },
  {
    apiVersion: 'viaduct.ai/v1',
    kind: 'ksops',
    scope: 'Cluster',
    buildConfig: true,
    reason: 'KSOPS secret generator read by kustomize',
  },
];

/** Whether an API group is served by Kubernetes itself (its kinds are not custom resources). */
export function isBuiltInGroup(group: string): boolean {
  return KUBERNETES_GROUPS.has(group);
}

interface ModelClass {
  apiVersion?: unknown;
  kind?: unknown;
  new (data: unknown): { validate(): void };
}

function modelCheck(model: ModelClass): SchemaCheck {
  return (manifest) => {
    try {
      new model(manifest).validate();
      return [];
    } catch (error) {
      return schemaViolations(error);
    }
  };
}

/**
 * Resolves `apiVersion` + `kind` to a schema and a scope. Model modules load lazily, once per kind,
 * so validating a cluster only pays for the kinds it uses.
 */
export class SchemaRegistry {
  private readonly registered = new Map<string, KindInfo>();
  private readonly cache = new Map<string, Promise<KindInfo | undefined>>();

  constructor(extraKinds: readonly RegisteredKind[] = []) {
    for (const kind of [...BUILD_CONFIG_KINDS, ...extraKinds]) {
      this.registered.set(`${kind.apiVersion}/${kind.kind}`, { ...kind });
    }
  }

  /** Returns undefined when no schema is known and the kind was not registered. */
  resolve(apiVersion: string, kind: string): Promise<KindInfo | undefined> {
    const key = `${apiVersion}/${kind}`;
    let found = this.cache.get(key);
    if (!found) {
      found = this.load(apiVersion, kind);
      this.cache.set(key, found);
    }
    return found;
  }

  private async load(apiVersion: string, kind: string): Promise<KindInfo | undefined> {
    const registered = this.registered.get(`${apiVersion}/${kind}`);
    if (registered) return registered;
    if (removedApi(apiVersion, kind)) return undefined;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind) || !/^([a-z0-9.-]+\/)?v[a-z0-9]+$/.test(apiVersion)) {
      return undefined;
    }
    const group = groupOf(apiVersion);
    const pkg = MODEL_PACKAGES.find((p) => p.groups.has(group));
    if (!pkg) return undefined;
    let module: Record<string, unknown>;
    try {
      module = (await import(`${pkg.name}/${apiVersion}/${kind}`)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const model = module[kind] as ModelClass | undefined;
    // Helper types (e.g. `v1/Affinity`) live beside the kinds; only real kinds carry apiVersion/kind.
    if (typeof model !== 'function' || model.apiVersion !== apiVersion || model.kind !== kind) {
      return undefined;
    }
    const scope: Scope = CLUSTER_SCOPED.has(`${group}/${kind}`) ? 'Cluster' : 'Namespaced';
    return { apiVersion, kind, scope, check: modelCheck(model) };
  }
}

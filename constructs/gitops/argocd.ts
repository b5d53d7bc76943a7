import { IngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute';
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { registerPolicies } from '../../framework/cluster.js';
import { KSOPS_EXEC, KUSTOMIZE_CONTRIBUTION, type KustomizeEntries, type RenderToolchain } from '../../framework/contributions.js';
import type { IClusterIssuer } from '../certificates/acme-cluster-issuer.js';
import { crdSyncOptions, KustomizePatch } from '../core/kustomize-patch.js';
import { modelObject } from '../core/model-object.js';
import { podSecurityNamespace } from '../core/namespace.js';
import { floatingImageError, floatingVersionError } from '../core/pinning.js';
import { RemoteResource } from '../core/remote-resource.js';
import { type ContainerResources, containerResources, workloadResources } from '../core/resources.js';
import { UpstreamService } from '../core/upstream-service.js';
import { PUBLIC_REASON_ANNOTATION, SecureIngress } from '../ingress/secure-ingress.js';
import { declareMetrics } from '../monitoring/metrics.js';
import { SopsSecret } from '../secrets/sops-secret.js';
import {
  ARGOCD_RESOURCE_EXCLUSIONS,
  type ArgoCdResourceFilter,
  liftExclusions,
  resourceExclusionsPolicy,
  type SyncedExcludedKind,
} from './resource-exclusions.js';

/** The Argo CD release this library is tested with. */
export const ARGOCD_VERSION = 'v3.5.1';

/** The custom resources whose CRDs the install manifest defines. */
export const ARGOCD_CRDS = [{ group: 'argoproj.io', kinds: ['Application', 'ApplicationSet', 'AppProject'] }] as const;

/** An upstream workload of the HA install and its containers. */
interface ArgoCdWorkload {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly initContainers?: readonly string[];
  readonly containers: readonly string[];
}

/** The workloads of the v3.5.1 HA install (manifests/ha/install.yaml), with the KSOPS init container this construct adds. */
const ARGOCD_WORKLOADS: Readonly<Record<string, ArgoCdWorkload>> = {
  'argocd-application-controller': { kind: 'StatefulSet', containers: ['argocd-application-controller'] },
  'argocd-applicationset-controller': { kind: 'Deployment', containers: ['argocd-applicationset-controller'] },
  'argocd-dex-server': { kind: 'Deployment', initContainers: ['copyutil'], containers: ['dex'] },
  'argocd-notifications-controller': { kind: 'Deployment', containers: ['argocd-notifications-controller'] },
  'argocd-redis-ha-haproxy': { kind: 'Deployment', initContainers: ['secret-init', 'config-init'], containers: ['haproxy'] },
  'argocd-redis-ha-server': {
    kind: 'StatefulSet',
    initContainers: ['config-init'],
    containers: ['redis', 'sentinel', 'split-brain-fix'],
  },
  'argocd-repo-server': { kind: 'Deployment', initContainers: ['install-ksops', 'copyutil'], containers: ['argocd-repo-server'] },
  'argocd-server': { kind: 'Deployment', containers: ['argocd-server'] },
};

/**
 * Requests and limits of every container of the install (upstream sets none), keyed
 * `<workload>/<container>`: sized for a small cluster of a few dozen apps. The repo server
 * runs kustomize, helm and KSOPS for every app and the application controller caches every
 * object of the cluster, so they get the most. Redis runs with `maxmemory 0` upstream: its
 * limit bounds the cache ArgoCD rebuilds after a restart.
 */
export const ARGOCD_RESOURCES: Readonly<Record<string, ContainerResources>> = {
  'argocd-application-controller/argocd-application-controller': containerResources('250m', '512Mi', '2Gi'),
  'argocd-applicationset-controller/argocd-applicationset-controller': containerResources('25m', '64Mi', '256Mi'),
  'argocd-dex-server/copyutil': containerResources('10m', '32Mi', '128Mi'),
  'argocd-dex-server/dex': containerResources('10m', '64Mi', '256Mi'),
  'argocd-notifications-controller/argocd-notifications-controller': containerResources('10m', '64Mi', '256Mi'),
  'argocd-redis-ha-haproxy/secret-init': containerResources('10m', '32Mi', '64Mi'),
  'argocd-redis-ha-haproxy/config-init': containerResources('10m', '32Mi', '64Mi'),
  'argocd-redis-ha-haproxy/haproxy': containerResources('25m', '64Mi', '256Mi'),
  'argocd-redis-ha-server/config-init': containerResources('10m', '32Mi', '64Mi'),
  'argocd-redis-ha-server/redis': containerResources('50m', '128Mi', '512Mi'),
  'argocd-redis-ha-server/sentinel': containerResources('10m', '32Mi', '128Mi'),
  'argocd-redis-ha-server/split-brain-fix': containerResources('10m', '32Mi', '64Mi'),
  'argocd-repo-server/install-ksops': containerResources('10m', '32Mi', '128Mi'),
  'argocd-repo-server/copyutil': containerResources('10m', '32Mi', '128Mi'),
  'argocd-repo-server/argocd-repo-server': containerResources('100m', '256Mi', '1Gi'),
  'argocd-server/argocd-server': containerResources('50m', '128Mi', '512Mi'),
};

/** The KSOPS image whose init container installs `ksops` into the repo-server. */
export const KSOPS_IMAGE = 'viaductoss/ksops:v4.5.1';

/** The kustomize and helm an Argo CD release's repo server ships (its `hack/tool-versions.sh`). */
export interface RepoServerTools {
  readonly kustomize: string;
  readonly helm: readonly string[];
}

/** Tools of the Argo CD releases this library knows (v3.5.1: kustomize5_version, helm4_version). */
export const ARGOCD_TOOLS: Readonly<Record<string, RepoServerTools>> = {
  'v3.5.1': { kustomize: '5.8.1', helm: ['4.2.1'] },
};

/** The kustomize `ksops install --with-kustomize` puts in place of Argo CD's (KSOPS's `scripts/install-kustomize.sh`). */
export const KSOPS_KUSTOMIZE: Readonly<Record<string, string>> = {
  [KSOPS_IMAGE]: '5.3.0',
};

/** `kustomize build` flags of the repo server: charts, and KSOPS as a KRM exec function. */
export const KUSTOMIZE_BUILD_OPTIONS: readonly string[] = ['--enable-helm', '--enable-alpha-plugins', '--enable-exec'];

/** The upstream highly available install manifest of an Argo CD release. */
export function argoCdInstallUrl(version: string): string {
  return `https://raw.githubusercontent.com/argoproj/argo-cd/${version}/manifests/ha/install.yaml`;
}

/** GitLab as the identity provider, through the Dex bundled with Argo CD. */
export interface ArgoCdGitLabConnector {
  /** GitLab instance, e.g. `https://gitlab.example.org`. */
  readonly baseURL: string;
  /** Application ID of the GitLab OAuth application (callback `<url>/api/dex/callback`, scopes `read_user openid`). */
  readonly clientID: string;
  /** Only members of these GitLab groups may log in. @default any GitLab user */
  readonly groups?: readonly string[];
}

export interface ArgoCdDexProps {
  /**
   * The GitLab connector. Its client secret is never in git: it is read from key
   * `dex.gitlab.clientSecret` of the Secret `argocd-secret`.
   */
  readonly gitlab: ArgoCdGitLabConnector;
}

export interface ArgoCdRbacProps {
  /** Role of every authenticated user no policy line names. @default 'role:readonly' */
  readonly defaultRole?: string;
  /** SSO groups mapped to `role:operators` (sync, restart, read clusters/repositories/certificates, manage GPG keys). */
  readonly operatorGroups: readonly string[];
}

export interface ArgoCdProps {
  /**
   * Namespace Argo CD runs in. Only `argocd` works with the upstream install: its
   * ClusterRoleBindings name ServiceAccounts in `argocd`, which kustomize's namespace does not
   * rewrite, so any other value is refused. @default 'argocd'
   */
  readonly namespace?: string;
  /** Argo CD release: selects the upstream install manifest. @default ARGOCD_VERSION */
  readonly version?: string;
  /** External https URL of the UI and API, e.g. `https://gitops.example.org` (required for SSO). */
  readonly url: string;
  /** Host name the Ingress serves. @default the host of `url` */
  readonly host?: string;
  /** The ClusterIssuer that signs the Ingress's certificate (the gRPC route serves the same one). */
  readonly issuer: IClusterIssuer;
  /** KSOPS image, pinned by tag or digest. @default KSOPS_IMAGE */
  readonly ksopsImage?: string;
  /**
   * Secret holding the age private key SOPS decrypts with, under key `keys.txt`. Created by hand
   * at bootstrap (`kubectl -n argocd create secret generic sops-age --from-file=keys.txt`), never in git.
   * @default 'sops-age'
   */
  readonly sopsAgeKeySecret?: string;
  /** Single sign-on through Dex. @default no Dex connector (and no `dex.config`) */
  readonly dex?: ArgoCdDexProps;
  readonly rbac: ArgoCdRbacProps;
  /**
   * Declare the application controller, API server and repo-server metrics endpoints
   * (ServiceMonitors where the cluster applies the metrics addon). @default true
   */
  readonly serviceMonitors?: boolean;
  /**
   * SOPS-encrypted Secret `argocd-secret` (its file carries `kustomize.config.k8s.io/behavior:
   * merge`), whose keys KSOPS merges into the upstream `argocd-secret`: the GitLab webhook token
   * `webhook.gitlab.secret` and, with Dex, the GitLab client secret `dex.gitlab.clientSecret`.
   * Required with Dex. @default none (no webhook secret: Argo CD accepts unsigned webhooks)
   */
  readonly secretFile?: string;
  /**
   * Let the KSOPS init container put its own kustomize over Argo CD's (`ksops install
   * --with-kustomize`). KSOPS v4.5.1 brings kustomize 5.3.0, which cannot inflate Helm charts
   * with the helm v4 of Argo CD v3.5.1: synth refuses that while any app uses a chart. @default false
   */
  readonly ksopsReplacesKustomize?: boolean;
  /**
   * Public half of the age key in `sopsAgeKeySecret`: `npm run synth -- --deep` decrypts SOPS
   * files with its identity only, as the repo server would. @default not declared
   */
  readonly sopsAgeRecipient?: string;
  /** The repo server's kustomize and helm. @default ARGOCD_TOOLS[version] */
  readonly repoServerTools?: RepoServerTools;
  /**
   * Requests and limits by `<workload>/<container>`, over ARGOCD_RESOURCES (for example
   * `{ 'argocd-repo-server/argocd-repo-server': containerResources('200m', '512Mi', '2Gi') }`).
   * @default ARGOCD_RESOURCES
   */
  readonly resources?: Readonly<Record<string, ContainerResources>>;
  /**
   * argocd-cm `resource.exclusions` of the install: the kinds Argo CD neither watches nor syncs.
   * Synth refuses an object of such a kind. @default ARGOCD_RESOURCE_EXCLUSIONS[version]
   */
  readonly resourceExclusions?: readonly ArgoCdResourceFilter[];
  /**
   * Kinds the install excludes that Argo CD is to sync all the same (for example
   * `{ group: 'discovery.k8s.io', kind: 'EndpointSlice', reason: '...' }` for endpoints of
   * Services without selectors): argocd-cm then sets `resource.exclusions` to the install's list
   * without them. Argo CD watches every object of such a kind in the cluster. @default none
   */
  readonly syncExcludedKinds?: readonly SyncedExcludedKind[];
}

/** Keys of `argocd-secret` the file given as `secretFile` must hold. */
export const WEBHOOK_SECRET_KEY = 'webhook.gitlab.secret';
export const DEX_GITLAB_SECRET_KEY = 'dex.gitlab.clientSecret';

/** Name of the role `ArgoCdRbacProps.operatorGroups` are mapped to. */
export const OPERATORS_ROLE = 'role:operators';

/** What an operator may do beyond the default read-only role. */
const OPERATOR_POLICY: readonly string[] = [
  `p, ${OPERATORS_ROLE}, applications, get, */*, allow`,
  `p, ${OPERATORS_ROLE}, applications, sync, */*, allow`,
  `p, ${OPERATORS_ROLE}, applications, action/apps/Deployment/restart, */*, allow`,
  `p, ${OPERATORS_ROLE}, applications, action/apps/StatefulSet/restart, */*, allow`,
  `p, ${OPERATORS_ROLE}, applications, action/apps/DaemonSet/restart, */*, allow`,
  `p, ${OPERATORS_ROLE}, clusters, get, *, allow`,
  `p, ${OPERATORS_ROLE}, repositories, get, *, allow`,
  `p, ${OPERATORS_ROLE}, certificates, get, *, allow`,
  `p, ${OPERATORS_ROLE}, gpgkeys, get, *, allow`,
  `p, ${OPERATORS_ROLE}, gpgkeys, create, *, allow`,
  `p, ${OPERATORS_ROLE}, gpgkeys, delete, *, allow`,
];

/** The `policy.csv` of `argocd-rbac-cm`: the operators role and one group line per operator group. */
export function argoCdPolicyCsv(operatorGroups: readonly string[]): string {
  return `${[...OPERATOR_POLICY, ...operatorGroups.map((group) => `g, ${group}, ${OPERATORS_ROLE}`)].join('\n')}\n`;
}

/** Ingresses are routed by Traefik, which publishes no status Argo CD could read: always healthy. */
const INGRESS_HEALTH = `hs = {}
hs.status = "Healthy"
hs.message = "Routed by Traefik"
return hs
`;

/**
 * Child Applications report their own health, so sync waves of the app-of-apps wait for the
 * apps before them (Argo CD removed the built-in Application health check in 1.8).
 */
const APPLICATION_HEALTH = `hs = {}
hs.status = "Progressing"
hs.message = ""
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then
    hs.message = obj.status.health.message
  end
end
return hs
`;

/** Metrics Services of the upstream manifest, all with a port named `metrics`. */
const METRICS_SERVICES = [
  { id: 'ControllerMetrics', service: 'argocd-metrics' },
  { id: 'ServerMetrics', service: 'argocd-server-metrics' },
  { id: 'RepoServerMetrics', service: 'argocd-repo-server' },
] as const;

const CUSTOM_TOOLS = 'custom-tools';

const ARGOCD_PUBLIC_REASON = 'Argo CD authenticates users itself (SSO through Dex, local admin disabled)';

/** Priority of the gRPC router: Traefik's default is the rule's length, which this outranks. */
export const GRPC_ROUTE_PRIORITY = 1000;

/**
 * Traefik rule of the gRPC router: the host and the content type `application/grpc`, exactly as
 * argocd-server's listener matches gRPC in insecure mode (any other HTTP/2 request, gRPC-web's
 * `application/grpc-web+proto` included, is closed there).
 */
export function grpcRouteRule(host: string): string {
  return `Host(\`${host}\`) && Header(\`Content-Type\`, \`application/grpc\`)`;
}
const AGE_KEY_DIR = '/.config/sops/age';

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Argo CD (HA install, pinned upstream manifest) configured for this repository: SSO through
 * Dex and GitLab with the local admin disabled, RBAC with a read-only default and an operators
 * role, annotation-based resource tracking, KSOPS in the repo-server decrypting SOPS files with
 * an age key, health and diff customizations, a public Ingress (Argo CD authenticates itself)
 * terminating TLS at Traefik, and its metrics endpoints (scraped where the cluster applies the
 * metrics addon).
 *
 * The upstream objects carry no namespace (upstream applies them with `-n argocd`): the install
 * asks for the app's kustomization namespace, which kustomize sets after the patches below and
 * the KSOPS merge run. So the patches target by kind and name only, never by namespace.
 */
export class ArgoCd extends Construct {
  readonly namespace: string;
  readonly version: string;
  readonly url: string;
  readonly host: string;
  readonly install: RemoteResource;
  /** The install's `argocd-server` Service (UI, REST and gRPC API; `http` is plain HTTP, as TLS ends at Traefik). */
  readonly serverService: UpstreamService;
  /** The repo server's tools, as synth checks them against what the apps use. */
  readonly toolchain?: RenderToolchain;
  readonly ingress: SecureIngress;
  /** The Traefik router of the CLI's gRPC calls (h2c to argocd-server). */
  readonly grpcRoute: ApiObject;

  constructor(scope: Construct, id: string, props: ArgoCdProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'argocd';
    const version = props.version ?? ARGOCD_VERSION;
    const host = props.host ?? hostOf(props.url) ?? '';
    this.namespace = namespace;
    this.version = version;
    this.url = props.url;
    this.host = host;
    const ksopsImage = props.ksopsImage ?? KSOPS_IMAGE;
    const ageSecret = props.sopsAgeKeySecret ?? 'sops-age';
    const defaultRole = props.rbac.defaultRole ?? 'role:readonly';
    const operatorGroups = props.rbac.operatorGroups;
    const installUrl = argoCdInstallUrl(version);
    const replaceKustomize = props.ksopsReplacesKustomize ?? false;
    const tools = props.repoServerTools ?? ARGOCD_TOOLS[version];
    const resources: Record<string, ContainerResources | undefined> = { ...ARGOCD_RESOURCES, ...props.resources };
    const resourcesOf = (key: string): ContainerResources => {
      const found = resources[key];
      if (!found) throw new Error(`ARGOCD_RESOURCES has no entry for ${key}`);
      return found;
    };
    const unknownResources = Object.keys(props.resources ?? {}).filter((key) => !(key in ARGOCD_RESOURCES));
    this.node.addValidation({
      validate: () =>
        unknownResources.map(
          (key) => `resources: "${key}" is no container of the install; known: ${Object.keys(ARGOCD_RESOURCES).join(', ')}`,
        ),
    });
    const installExclusions = props.resourceExclusions ?? ARGOCD_RESOURCE_EXCLUSIONS[version];
    const lifted = liftExclusions(installExclusions ?? [], props.syncExcludedKinds ?? []);
    this.node.addValidation({
      validate: () => [
        ...(installExclusions
          ? []
          : [
              `no resource.exclusions known for Argo CD ${version}: pass resourceExclusions, the list in argocd-cm of ${argoCdInstallUrl(version)}`,
            ]),
        ...lifted.errors,
        ...(props.syncExcludedKinds ?? [])
          .filter((entry) => entry.reason.trim() === '')
          .map((entry) => `syncExcludedKinds: ${entry.group}/${entry.kind} needs a reason`),
      ],
    });
    const exclusionsChanged = props.resourceExclusions !== undefined || (props.syncExcludedKinds ?? []).length > 0;
    registerPolicies(
      this,
      resourceExclusionsPolicy(
        lifted.exclusions,
        exclusionsChanged
          ? 'the resource.exclusions this ArgoCd writes to argocd-cm'
          : `the resource.exclusions of Argo CD ${version}'s install (argocd-cm)`,
      ),
    );
    const ksopsKustomize = KSOPS_KUSTOMIZE[ksopsImage];
    if (tools) {
      this.toolchain = {
        renderer: `Argo CD ${version}'s repo server`,
        kustomize:
          replaceKustomize && ksopsKustomize
            ? { version: ksopsKustomize, source: `installed over Argo CD's by ${ksopsImage} (ksops install --with-kustomize)` }
            : { version: tools.kustomize, source: `bundled with Argo CD ${version}` },
        helm: [...tools.helm],
        buildOptions: KUSTOMIZE_BUILD_OPTIONS,
        execFunctions: [KSOPS_EXEC],
        ...(props.sopsAgeRecipient === undefined ? {} : { decryptsFor: props.sopsAgeRecipient }),
      };
    }

    // Every workload of the v3.5.1 HA install (and the KSOPS init container) meets restricted, as
    // the deep build checks. Every Application lives in this namespace, each with the cascade
    // finalizer: deleting the namespace (with the app that syncs it) would delete every app.
    podSecurityNamespace(this, 'Namespace', {
      name: namespace,
      annotations: { 'argocd.argoproj.io/sync-options': 'Delete=false' },
    });

    // install.yaml leaves its namespaced objects without a namespace: the app's kustomization
    // sets it, so a bootstrap with kubectl and ArgoCD's own syncs put them in the same place.
    this.install = new RemoteResource(this, 'Install', { url: installUrl, crds: ARGOCD_CRDS, namespace });
    // As the pinned install defines it (both ports reach the same listener); the deep build checks it.
    this.serverService = new UpstreamService({
      namespace,
      name: 'argocd-server',
      ports: [
        { name: 'http', port: 80 },
        { name: 'https', port: 443 },
      ],
      providedBy: installUrl,
    });

    // Argo CD's own CRDs (Application is larger than client-side apply allows) must never be
    // pruned: that would delete every Application, and with the cascade finalizer, every app.
    crdSyncOptions(this, 'CrdSyncOptions', {
      patchName: 'argocd-crds',
      syncOptions: ['Delete=false', 'ServerSideApply=true'],
      syncWave: -1,
    });

    const dexConfig = props.dex
      ? stringify({
          connectors: [
            {
              type: 'gitlab',
              id: 'gitlab',
              name: 'GitLab',
              config: {
                baseURL: props.dex.gitlab.baseURL,
                clientID: props.dex.gitlab.clientID,
                // Resolved by Argo CD from this key of Secret argocd-secret (merged from secretFile).
                clientSecret: `$${DEX_GITLAB_SECRET_KEY}`,
                ...(props.dex.gitlab.groups && props.dex.gitlab.groups.length > 0 ? { groups: [...props.dex.gitlab.groups] } : {}),
                useLoginAsID: false,
              },
            },
          ],
        })
      : undefined;

    const webhookCaBundle = stringify({ jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'] });
    new KustomizePatch(this, 'ConfigMap', {
      target: { version: 'v1', kind: 'ConfigMap', name: 'argocd-cm' },
      patch: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cm' },
        data: {
          url: props.url,
          'application.resourceTrackingMethod': 'annotation',
          // SSO only: no shared local admin password.
          'admin.enabled': 'false',
          // KSOPS is a KRM exec plugin (alpha plugins + exec); some apps inflate Helm charts.
          'kustomize.buildOptions': KUSTOMIZE_BUILD_OPTIONS.join(' '),
          ...(dexConfig ? { 'dex.config': dexConfig } : {}),
          ...(exclusionsChanged ? { 'resource.exclusions': stringify(lifted.exclusions) } : {}),
          'resource.customizations.health.networking.k8s.io_Ingress': INGRESS_HEALTH,
          'resource.customizations.health.argoproj.io_Application': APPLICATION_HEALTH,
          // CA bundles are injected at runtime (cert-manager cainjector, operators): not drift.
          'resource.customizations.ignoreDifferences.apiextensions.k8s.io_CustomResourceDefinition': stringify({
            jsonPointers: ['/spec/conversion/webhook/clientConfig/caBundle'],
          }),
          'resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration': webhookCaBundle,
          'resource.customizations.ignoreDifferences.admissionregistration.k8s.io_ValidatingWebhookConfiguration': webhookCaBundle,
        },
      },
    });

    new KustomizePatch(this, 'RbacConfigMap', {
      target: { version: 'v1', kind: 'ConfigMap', name: 'argocd-rbac-cm' },
      patch: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-rbac-cm' },
        data: { 'policy.default': defaultRole, 'policy.csv': argoCdPolicyCsv(operatorGroups), scopes: '[groups]' },
      },
    });

    new KustomizePatch(this, 'CmdParams', {
      target: { version: 'v1', kind: 'ConfigMap', name: 'argocd-cmd-params-cm' },
      patch: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'argocd-cmd-params-cm' },
        // TLS ends at Traefik; argocd-server serves HTTP/1.1 and, for gRPC only, h2c behind it.
        data: { 'server.insecure': 'true' },
      },
    });

    // KSOPS in the repo-server: an init container copies ksops and a matching kustomize into an
    // emptyDir, mounted over the image's kustomize; SOPS reads the age key from the Secret.
    // Strategic merge keys containers, initContainers, volumes and volumeMounts by name/mountPath,
    // so upstream entries (copyutil, the repo-server's own mounts) are kept.
    new KustomizePatch(this, 'RepoServerKsops', {
      target: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'argocd-repo-server' },
      patch: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'argocd-repo-server' },
        spec: {
          template: {
            spec: {
              volumes: [
                { name: CUSTOM_TOOLS, emptyDir: {} },
                { name: 'sops-age', secret: { secretName: ageSecret, optional: false } },
              ],
              initContainers: [
                {
                  name: 'install-ksops',
                  image: ksopsImage,
                  resources: resourcesOf('argocd-repo-server/install-ksops'),
                  command: ['/usr/local/bin/ksops', 'install', ...(replaceKustomize ? ['--with-kustomize'] : []), `/${CUSTOM_TOOLS}`],
                  volumeMounts: [{ name: CUSTOM_TOOLS, mountPath: `/${CUSTOM_TOOLS}` }],
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ['ALL'] },
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    // The repo-server's user, so it owns the installed binaries.
                    runAsUser: 999,
                    seccompProfile: { type: 'RuntimeDefault' },
                  },
                },
              ],
              containers: [
                {
                  name: 'argocd-repo-server',
                  env: [
                    { name: 'XDG_CONFIG_HOME', value: '/.config' },
                    { name: 'SOPS_AGE_KEY_FILE', value: `${AGE_KEY_DIR}/keys.txt` },
                  ],
                  volumeMounts: [
                    ...(replaceKustomize ? [{ name: CUSTOM_TOOLS, mountPath: '/usr/local/bin/kustomize', subPath: 'kustomize' }] : []),
                    { name: CUSTOM_TOOLS, mountPath: '/usr/local/bin/ksops', subPath: 'ksops' },
                    { name: 'sops-age', mountPath: AGE_KEY_DIR, readOnly: true },
                  ],
                },
              ],
            },
          },
        },
      },
    });

    // Upstream sets no requests or limits: every container gets both (the KSOPS init container's are above).
    for (const [workload, { kind, initContainers = [], containers }] of Object.entries(ARGOCD_WORKLOADS)) {
      const byName = (names: readonly string[]): Record<string, ContainerResources> =>
        Object.fromEntries(names.map((name) => [name, resourcesOf(`${workload}/${name}`)]));
      const patchedInits = initContainers.filter((name) => name !== 'install-ksops');
      workloadResources(this, `Resources-${workload}`, {
        kind,
        name: workload,
        containers: byName(containers),
        ...(patchedInits.length > 0 ? { initContainers: byName(patchedInits) } : {}),
      });
    }

    // Browsers and the REST API reach argocd-server over HTTP/1.1: in insecure mode its listener
    // hands HTTP/2 only to the gRPC server and closes any other HTTP/2 connection, so the
    // Ingress's route must not speak h2c.
    this.ingress = new SecureIngress(this, 'Ingress', {
      name: 'argocd-server',
      namespace,
      hosts: [host],
      backend: { service: this.serverService, port: 'http' },
      issuer: props.issuer,
      auth: { public: ARGOCD_PUBLIC_REASON },
    });
    // The CLI's gRPC (content type application/grpc) gets its own
    // router, on the same host, entry point and certificate, that talks h2c to argocd-server.
    // gRPC-web (application/grpc-web...) stays on HTTP/1.1 with the UI.
    this.grpcRoute = modelObject(
      this,
      'GrpcRoute',
      new IngressRoute({
        metadata: {
          name: 'argocd-server-grpc',
          namespace,
          annotations: { [PUBLIC_REASON_ANNOTATION]: ARGOCD_PUBLIC_REASON },
        },
        spec: {
          entryPoints: [this.ingress.entryPoint],
          routes: [
            {
              kind: 'Rule',
              match: grpcRouteRule(host),
              // Above the Ingress's router for the same host, whatever the lengths of the rules.
              priority: GRPC_ROUTE_PRIORITY,
              services: [{ name: this.serverService.name, port: 'http', scheme: 'h2c' }],
            },
          ],
          tls: { secretName: this.ingress.tlsSecretName },
        },
      }),
    );

    if (props.secretFile !== undefined) {
      new SopsSecret(this, 'Secret', {
        file: props.secretFile,
        name: 'argocd-secret',
        namespace,
        behavior: 'merge',
        keys: [WEBHOOK_SECRET_KEY, ...(props.dex ? [DEX_GITLAB_SECRET_KEY] : [])],
      });
    }

    if (props.serviceMonitors ?? true) {
      for (const { id: monitorId, service } of METRICS_SERVICES) {
        // The metrics Services come with the upstream install: the deep build checks their ports.
        declareMetrics(this, {
          id: monitorId,
          name: service,
          labels: { 'app.kubernetes.io/part-of': 'argocd' },
          service: { namespace, labels: { 'app.kubernetes.io/name': service } },
        });
      }
    }

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (namespace !== 'argocd') {
          errors.push(
            `namespace "${namespace}": the upstream install binds its ClusterRoles to ServiceAccounts in "argocd", which the kustomization namespace does not rewrite; run Argo CD in "argocd"`,
          );
        }
        if (!tools) {
          errors.push(
            `no repo-server tools are known for Argo CD ${version}: pass repoServerTools with the kustomize and helm versions of its hack/tool-versions.sh`,
          );
        }
        if (replaceKustomize && !ksopsKustomize) {
          errors.push(`ksopsReplacesKustomize: the kustomize that ${ksopsImage} installs is not known; add it to KSOPS_KUSTOMIZE`);
        }
        const versionError = floatingVersionError(version);
        if (versionError) errors.push(`Argo CD ${versionError}`);
        const imageError = floatingImageError(ksopsImage);
        if (imageError) errors.push(`ksopsImage: ${imageError}`);
        if (!props.url.startsWith('https://') || hostOf(props.url) === undefined) {
          errors.push(`url "${props.url}" must be an https:// URL (Argo CD builds SSO callbacks from it)`);
        }
        if (operatorGroups.length === 0) errors.push('rbac.operatorGroups must name at least one group');
        for (const group of operatorGroups) {
          if (group.trim().length === 0 || /[,\n]/.test(group)) errors.push(`rbac.operatorGroups: "${group}" is not a valid group name`);
        }
        if (props.dex && props.secretFile === undefined) {
          errors.push(`dex needs the GitLab client secret: set secretFile to a SOPS file with key ${DEX_GITLAB_SECRET_KEY}`);
        }
        if (props.dex && !props.dex.gitlab.baseURL.startsWith('https://')) {
          errors.push(`dex.gitlab.baseURL "${props.dex.gitlab.baseURL}" must be an https:// URL`);
        }
        return errors;
      },
    });
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return this.toolchain ? { toolchain: this.toolchain } : {};
  }
}

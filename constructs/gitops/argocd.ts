import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { crdSyncOptions, KustomizePatch } from '../core/kustomize-patch.js';
import { modelObject } from '../core/model-object.js';
import { floatingImageError, floatingVersionError } from '../core/pinning.js';
import { RemoteResource } from '../core/remote-resource.js';
import { SecureIngress } from '../ingress/secure-ingress.js';
import { SopsSecret } from '../secrets/sops-secret.js';

/** The Argo CD release this library is tested with. */
export const ARGOCD_VERSION = 'v3.5.1';

/** The custom resources whose CRDs the install manifest defines. */
export const ARGOCD_CRDS = [{ group: 'argoproj.io', kinds: ['Application', 'ApplicationSet', 'AppProject'] }] as const;

/** The KSOPS image whose init container installs `ksops` and `kustomize` into the repo-server. */
export const KSOPS_IMAGE = 'viaductoss/ksops:v4.5.1';

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
  /** ServiceMonitors for the application controller, API server and repo-server metrics. @default true */
  readonly serviceMonitors?: boolean;
  /**
   * SOPS-encrypted Secret `argocd-secret` (its file carries `kustomize.config.k8s.io/behavior:
   * merge`), whose keys KSOPS merges into the upstream `argocd-secret`: the GitLab webhook token
   * `webhook.gitlab.secret` and, with Dex, the GitLab client secret `dex.gitlab.clientSecret`.
   * Required with Dex. @default none (no webhook secret: Argo CD accepts unsigned webhooks)
   */
  readonly secretFile?: string;
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
 * terminating TLS at Traefik, and ServiceMonitors for its metrics.
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
  readonly ingress: SecureIngress;

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

    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: namespace,
        labels: {
          // Upstream containers drop all capabilities but do not all set seccomp profiles: baseline.
          'pod-security.kubernetes.io/enforce': 'baseline',
          'pod-security.kubernetes.io/audit': 'baseline',
          'pod-security.kubernetes.io/warn': 'baseline',
        },
      },
    });

    // install.yaml leaves its namespaced objects without a namespace: the app's kustomization
    // sets it, so a bootstrap with kubectl and ArgoCD's own syncs put them in the same place.
    this.install = new RemoteResource(this, 'Install', { url: installUrl, crds: ARGOCD_CRDS, namespace });

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
          'kustomize.buildOptions': '--enable-helm --enable-alpha-plugins --enable-exec',
          ...(dexConfig ? { 'dex.config': dexConfig } : {}),
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
        // TLS ends at Traefik; argocd-server serves plain HTTP and h2c (gRPC) behind it.
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
                  command: ['/usr/local/bin/ksops', 'install', '--with-kustomize', `/${CUSTOM_TOOLS}`],
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
                    { name: CUSTOM_TOOLS, mountPath: '/usr/local/bin/kustomize', subPath: 'kustomize' },
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

    // The CLI speaks gRPC: Traefik must talk HTTP/2 cleartext to argocd-server.
    new KustomizePatch(this, 'ServerServiceScheme', {
      target: { version: 'v1', kind: 'Service', name: 'argocd-server' },
      patch: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'argocd-server', annotations: { 'traefik.ingress.kubernetes.io/service.serversscheme': 'h2c' } },
      },
    });

    this.ingress = new SecureIngress(this, 'Ingress', {
      name: 'argocd-server',
      namespace,
      hosts: [host],
      backend: { serviceName: 'argocd-server', port: 'http', providedBy: installUrl },
      auth: { public: 'Argo CD authenticates users itself (SSO through Dex, local admin disabled)' },
    });

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
        modelObject(
          this,
          monitorId,
          new ServiceMonitor({
            metadata: { name: service, namespace, labels: { 'app.kubernetes.io/part-of': 'argocd' } },
            spec: {
              selector: { matchLabels: { 'app.kubernetes.io/name': service } },
              namespaceSelector: { matchNames: [namespace] },
              endpoints: [{ port: 'metrics', interval: '30s' }],
            },
          }),
        );
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
}

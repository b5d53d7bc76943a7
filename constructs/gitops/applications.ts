import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';
import { AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject';
import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import type { AppSummary, ClusterApps } from '../../framework/cluster.js';
import { modelObject } from '../core/model-object.js';

/** ArgoCD's address for the cluster it runs in. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/** Deletes an app's resources when its Application is deleted (an app removed from the composition). */
export const CASCADE_FINALIZER = 'resources-finalizer.argocd.argoproj.io';

export interface GitOpsApplicationsProps {
  /** The cluster's apps, as the pipeline hands them to `build`. */
  readonly cluster: ClusterApps;
  /** The app holding these Applications: the root of the app-of-apps, synced once by hand at bootstrap. */
  readonly rootApp: string;
  /** Git repository ArgoCD syncs from. */
  readonly repoURL: string;
  /** Branch, tag or commit. */
  readonly targetRevision: string;
  /** Folder of an app in the repository. @default `dist/<cluster>/<app>` */
  readonly pathOf?: (cluster: string, app: string) => string;
  /** AppProject every Application belongs to. @default 'production' */
  readonly project?: string;
  /** Namespace ArgoCD runs in; Applications and the AppProject live there. @default 'argocd' */
  readonly argocdNamespace?: string;
  /**
   * List the upstream chart repositories and manifest URLs the apps pin in the AppProject's
   * sourceRepos, after the GitOps repository. ArgoCD does not check kustomize's fetches against
   * them, so they record rather than enforce; `false` keeps the project to the GitOps repository
   * alone (see docs/apps.md). @default true
   */
  readonly listUpstreamSources?: boolean;
  /**
   * How ArgoCD retries a failed automated sync. Without retries a revision whose first sync
   * failed (a webhook not yet serving, a CRD still being established) stays failed until the
   * next commit; `false` turns retries off. @default DEFAULT_SYNC_RETRY
   */
  readonly retry?: SyncRetry | false;
}

/** `spec.syncPolicy.retry` of an Application (Argo CD's field names). */
export interface SyncRetry {
  /** Retries after the first failed attempt; 0 means none, a negative number no limit. */
  readonly limit: number;
  readonly backoff: {
    /** First wait, e.g. `10s`. */
    readonly duration: string;
    /** Multiplier of the wait after each failed retry. */
    readonly factor: number;
    /** Longest wait, e.g. `5m`. */
    readonly maxDuration: string;
  };
  /** Retry with the newest revision of the branch instead of the one that failed. */
  readonly refresh: boolean;
}

/**
 * Ten retries waiting 10 s, 20 s, 40 s ... up to 5 min between them (about half an hour in all),
 * each with the newest revision, so a fix pushed meanwhile is picked up.
 */
export const DEFAULT_SYNC_RETRY: SyncRetry = {
  limit: 10,
  backoff: { duration: '10s', factor: 2, maxDuration: '5m' },
  refresh: true,
};

/** The default folder of an app: `dist/<cluster>/<app>`. */
export const defaultAppPath = (cluster: string, app: string) => `dist/${cluster}/${app}`;

/**
 * The app-of-apps: an AppProject restricted to the GitOps repository, the upstream sources the
 * apps pin and the cluster ArgoCD runs in, and one Application per app of the composition (the root app's own included, so ArgoCD
 * manages itself). Nothing is listed by hand: adding an app to the composition adds its
 * Application, in the sync wave its dependencies give it.
 */
export class GitOpsApplications extends Construct {
  readonly project: string;

  constructor(scope: Construct, id: string, props: GitOpsApplicationsProps) {
    super(scope, id);
    const namespace = props.argocdNamespace ?? 'argocd';
    const pathOf = props.pathOf ?? defaultAppPath;
    this.project = props.project ?? 'production';

    modelObject(
      this,
      'AppProject',
      new AppProject({
        metadata: { name: this.project, namespace },
        spec: {
          description: `Everything rendered for cluster ${props.cluster.name}`,
          // The GitOps repository, then every upstream chart repository and manifest the apps pin
          // (kustomize fetches those inside the repo-server; listing them here keeps the project
          // an exact account of what the cluster pulls). Read once every app is built.
          sourceRepos: Lazy.any({
            produce: () => [props.repoURL, ...(props.listUpstreamSources === false ? [] : props.cluster.pinnedSources())],
          }),
          destinations: [{ server: IN_CLUSTER, namespace: '*' }],
          clusterResourceWhitelist: [{ group: '*', kind: '*' }],
        },
      }),
    );

    for (const app of props.cluster.apps) {
      modelObject(this, app.name, this.application(app, props, namespace, pathOf));
    }
    this.node.addValidation({
      validate: () => {
        const errors = props.cluster.apps.some((app) => app.name === props.rootApp)
          ? []
          : [`rootApp "${props.rootApp}" is not an app of cluster ${props.cluster.name}`];
        const retry = props.retry;
        if (retry) {
          if (!Number.isInteger(retry.limit)) errors.push(`retry.limit must be a whole number (got ${retry.limit})`);
          if (!Number.isInteger(retry.backoff.factor) || retry.backoff.factor < 1)
            errors.push(`retry.backoff.factor must be a whole number of 1 or more (got ${retry.backoff.factor})`);
          for (const field of ['duration', 'maxDuration'] as const) {
            if (!/^\d+(s|m|h)?$/.test(retry.backoff[field]))
              errors.push(`retry.backoff.${field} "${retry.backoff[field]}" must be a duration such as 10s, 5m or 1h`);
          }
        }
        return errors;
      },
    });
  }

  private application(
    app: AppSummary,
    props: GitOpsApplicationsProps,
    namespace: string,
    pathOf: (cluster: string, app: string) => string,
  ): Application {
    const isRoot = app.name === props.rootApp;
    const retry = props.retry ?? DEFAULT_SYNC_RETRY;
    const syncOptions = [
      ...(app.namespace ? ['CreateNamespace=true'] : []),
      ...(app.serverSideApply ? ['ServerSideApply=true'] : []),
      // Remove objects dropped from an app only after everything else is in sync.
      'PruneLast=true',
    ];
    return new Application({
      metadata: {
        name: app.name,
        namespace,
        annotations: { 'argocd.argoproj.io/sync-wave': String(app.wave) },
        // The root keeps no finalizer: deleting it must never cascade to the whole cluster; nor
        // does an app whose objects the cluster cannot lose (its network).
        ...(isRoot || app.keepResourcesOnDelete ? {} : { finalizers: [CASCADE_FINALIZER] }),
      },
      spec: {
        project: this.project,
        source: { repoURL: props.repoURL, targetRevision: props.targetRevision, path: pathOf(props.cluster.name, app.name) },
        destination: { server: IN_CLUSTER, ...(app.namespace ? { namespace: app.namespace } : {}) },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions,
          ...(retry === false ? {} : { retry: { limit: retry.limit, backoff: { ...retry.backoff }, refresh: retry.refresh } }),
        },
      },
    });
  }
}

import type { ClusterPolicy, PolicyObject } from '../../framework/cluster.js';
import { groupOf, isRecord, objectRef, type Problem } from '../../framework/model.js';
import { sopsRecipients } from '../../framework/rules/sops.js';
import { defaultAppPath } from './applications.js';

export interface GitOpsPolicyOptions {
  /** @default the cluster synth checks (PolicyContext.cluster) */
  readonly cluster?: string;
  /** Every app of the cluster, by name. @default the apps synth renders (PolicyContext.apps) */
  readonly apps?: readonly string[];
  /** @default `dist/<cluster>/<app>` */
  readonly pathOf?: (cluster: string, app: string) => string;
  /**
   * Namespaces an app (the app object, or its name) writes into without owning them (its
   * Namespace object or its Application's destination), each with the reason. @default none
   */
  readonly namespaceGrants?: readonly {
    readonly app: { readonly name: string } | string;
    readonly namespace: string;
    readonly reason: string;
  }[];
}

const isApplication = (object: PolicyObject) =>
  object.manifest.kind === 'Application' && groupOf(String(object.manifest.apiVersion)) === 'argoproj.io';

/**
 * Cross-checks between the Applications and what synth writes: every Application points at an
 * app folder of this cluster and every app folder has exactly one Application; every namespace
 * an app writes to is created, by a Namespace object or by its Application's CreateNamespace.
 */
/** Namespaces the API server creates itself. */
export const BUILT_IN_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function gitOpsPolicy(options: GitOpsPolicyOptions): ClusterPolicy {
  const pathOf = options.pathOf ?? defaultAppPath;
  return {
    name: 'gitops',
    check(objects, context) {
      const problems: Problem[] = [];
      const cluster = options.cluster ?? context?.cluster ?? '';
      const apps = options.apps ?? context?.apps ?? [];
      const folders = new Map(apps.map((app) => [pathOf(cluster, app), app]));
      const applicationsOf = new Map<string, PolicyObject[]>();
      const createsNamespace = new Map<string, string>();
      for (const object of objects.filter(isApplication)) {
        const spec = isRecord(object.manifest.spec) ? object.manifest.spec : {};
        const source = isRecord(spec.source) ? spec.source : {};
        const path = typeof source.path === 'string' ? source.path : '';
        const app = folders.get(path);
        if (!app) {
          problems.push({
            origin: object.origin,
            object: objectRef(object.manifest),
            rule: 'policy.gitops.path',
            message: `points at ${path || '<no path>'}, which is not an app folder of cluster ${cluster}`,
          });
          continue;
        }
        applicationsOf.set(app, [...(applicationsOf.get(app) ?? []), object]);
        const destination = isRecord(spec.destination) ? spec.destination : {};
        const syncPolicy = isRecord(spec.syncPolicy) ? spec.syncPolicy : {};
        const syncOptions = Array.isArray(syncPolicy.syncOptions) ? syncPolicy.syncOptions : [];
        if (syncOptions.includes('CreateNamespace=true') && typeof destination.namespace === 'string') {
          createsNamespace.set(app, destination.namespace);
        }
      }
      for (const app of apps) {
        const count = applicationsOf.get(app)?.length ?? 0;
        if (count !== 1) {
          problems.push({
            origin: { constructPath: `${cluster}/${app}` },
            rule: 'policy.gitops.application',
            message: `app folder ${pathOf(cluster, app)} has ${count === 0 ? 'no' : count} Applications; it needs exactly one`,
          });
        }
      }
      const namespaces = new Set([
        // Every cluster has these from the start.
        ...BUILT_IN_NAMESPACES,
        ...objects.filter((o) => o.manifest.kind === 'Namespace' && o.manifest.apiVersion === 'v1').map((o) => objectRef(o.manifest).name),
      ]);
      const reported = new Set<string>();
      // Who owns a namespace: the app with its Namespace object, else the app whose Application creates it.
      const owners = new Map<string, string>();
      for (const [app, namespace] of createsNamespace) owners.set(namespace, app);
      for (const object of objects) {
        if (object.manifest.kind === 'Namespace' && object.manifest.apiVersion === 'v1')
          owners.set(objectRef(object.manifest).name ?? '', object.app);
      }
      const granted = (app: string, namespace: string) =>
        (options.namespaceGrants ?? []).some(
          (grant) =>
            (typeof grant.app === 'string' ? grant.app : grant.app.name) === app &&
            grant.namespace === namespace &&
            grant.reason.trim() !== '',
        );
      for (const object of objects) {
        const namespace = objectRef(object.manifest).namespace;
        if (namespace === undefined || createsNamespace.get(object.app) === namespace || isApplication(object)) continue;
        const owner = owners.get(namespace);
        if ((owner !== undefined && owner !== object.app) || (owner === undefined && BUILT_IN_NAMESPACES.includes(namespace))) {
          if (granted(object.app, namespace)) continue;
          const key = `${object.app}/${namespace}/owner`;
          if (reported.has(key)) continue;
          reported.add(key);
          problems.push({
            origin: object.origin,
            object: objectRef(object.manifest),
            rule: 'policy.gitops.namespace',
            message: `app ${object.app} writes into namespace ${namespace}, which ${owner === undefined ? 'belongs to the cluster itself' : `app ${owner} owns`}: keep the object in the app's own namespace, or grant it in the gitops policy's namespaceGrants with the reason`,
          });
          continue;
        }
        if (namespaces.has(namespace)) continue;
        const key = `${object.app}/${namespace}`;
        if (reported.has(key)) continue;
        reported.add(key);
        problems.push({
          origin: object.origin,
          object: objectRef(object.manifest),
          rule: 'policy.gitops.namespace',
          message: `writes to namespace ${namespace}, which no Namespace object creates and app ${object.app}'s Application does not create (CreateNamespace)`,
        });
      }
      return problems;
    },
  };
}

export interface SopsDecryptionPolicyOptions {
  /** Public half of the age key ArgoCD decrypts with (its private half is the `sops-age` Secret). */
  readonly ageRecipient: string;
}

/**
 * Every SOPS-encrypted object of the cluster is encrypted for the key this ArgoCD decrypts with:
 * otherwise KSOPS fails at sync time and the whole app stops syncing.
 */
export function sopsDecryptionPolicy(options: SopsDecryptionPolicyOptions): ClusterPolicy {
  return {
    name: 'gitops.decryption',
    check(objects) {
      const problems: Problem[] = [];
      for (const object of objects) {
        if (!isRecord(object.manifest.sops)) continue;
        if (sopsRecipients(object.manifest).age.includes(options.ageRecipient)) continue;
        const file = object.origin.file ?? 'the file';
        problems.push({
          origin: object.origin,
          object: objectRef(object.manifest),
          rule: 'policy.gitops.decryption',
          message: `is not encrypted for ArgoCD's age key ${options.ageRecipient}, so ArgoCD cannot decrypt it: add the key to the .sops.yaml creation rule covering ${file} and run "sops updatekeys ${file}"`,
        });
      }
      return problems;
    },
  };
}

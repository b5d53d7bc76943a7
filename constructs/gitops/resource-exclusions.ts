import type { ClusterPolicy } from '../../framework/cluster.js';
import { groupOf, objectRef, type Problem } from '../../framework/model.js';

/**
 * One entry of argocd-cm `resource.exclusions`: the API groups, kinds and clusters it covers. An
 * empty or missing list covers everything; groups and clusters are glob patterns, kinds are
 * names or `*` (Argo CD's util/settings/filtered_resource.go).
 */
export interface ArgoCdResourceFilter {
  readonly apiGroups?: readonly string[];
  readonly kinds?: readonly string[];
  readonly clusters?: readonly string[];
}

/** A kind by its API group (`''` for the core group). */
export interface GroupKind {
  readonly group: string;
  readonly kind: string;
}

/** A kind the install excludes that Argo CD is to sync all the same, and why. */
export interface SyncedExcludedKind extends GroupKind {
  readonly reason: string;
}

/**
 * What Argo CD excludes whatever argocd-cm says (coreExcludedResources in
 * util/settings/resources_filter.go, v3.5.1).
 */
export const ARGOCD_CORE_EXCLUSIONS: readonly ArgoCdResourceFilter[] = [
  { apiGroups: ['events.k8s.io', 'metrics.k8s.io'] },
  { apiGroups: [''], kinds: ['Event'] },
  { apiGroups: ['coordination.k8s.io'], kinds: ['Lease'] },
];

/**
 * argocd-cm `resource.exclusions` of each release's install (manifests/ha/install.yaml), by
 * release; a test compares it with the pinned file.
 */
export const ARGOCD_RESOURCE_EXCLUSIONS: Readonly<Record<string, readonly ArgoCdResourceFilter[]>> = {
  'v3.5.1': [
    { apiGroups: ['', 'discovery.k8s.io'], kinds: ['Endpoints', 'EndpointSlice'] },
    { apiGroups: ['coordination.k8s.io'], kinds: ['Lease'] },
    {
      apiGroups: ['authentication.k8s.io', 'authorization.k8s.io'],
      kinds: [
        'SelfSubjectReview',
        'TokenReview',
        'LocalSubjectAccessReview',
        'SelfSubjectAccessReview',
        'SelfSubjectRulesReview',
        'SubjectAccessReview',
      ],
    },
    { apiGroups: ['certificates.k8s.io'], kinds: ['CertificateSigningRequest'] },
    { apiGroups: ['cert-manager.io'], kinds: ['CertificateRequest'] },
    { apiGroups: ['cilium.io'], kinds: ['CiliumIdentity', 'CiliumEndpoint', 'CiliumEndpointSlice'] },
    {
      apiGroups: ['kyverno.io', 'reports.kyverno.io', 'wgpolicyk8s.io'],
      kinds: [
        'PolicyReport',
        'ClusterPolicyReport',
        'EphemeralReport',
        'ClusterEphemeralReport',
        'AdmissionReport',
        'ClusterAdmissionReport',
        'BackgroundScanReport',
        'ClusterBackgroundScanReport',
        'UpdateRequest',
      ],
    },
  ],
};

/** The server URL of the cluster Argo CD runs in, which every Application of this library targets. */
export const IN_CLUSTER = 'https://kubernetes.default.svc';

/** A glob as github.com/gobwas/glob reads one without separators: `*`, `?`, `[...]`, `[!...]`, `{a,b}`. */
export function globPattern(glob: string): RegExp {
  let source = '';
  let alternatives = 0;
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index] as string;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '\\' && index + 1 < glob.length) {
      index += 1;
      source += (glob[index] as string).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (char === '[') {
      const end = glob.indexOf(']', index + 1);
      if (end < 0) source += '\\[';
      else {
        const body = glob.slice(index + 1, end);
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        index = end;
      }
    } else if (char === '{') {
      alternatives += 1;
      source += '(?:';
    } else if (char === '}' && alternatives > 0) {
      alternatives -= 1;
      source += ')';
    } else if (char === ',' && alternatives > 0) source += '|';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}${')'.repeat(alternatives)}$`, 's');
}

const compiled = new Map<string, RegExp>();
/** A glob's pattern, compiled once: the policy tests every object against every entry. */
const globOf = (glob: string): RegExp => {
  const known = compiled.get(glob);
  if (known) return known;
  const pattern = globPattern(glob);
  compiled.set(glob, pattern);
  return pattern;
};

/** Whether an entry covers a kind of a cluster, as Argo CD's FilteredResource.Match decides. */
export function filterMatches(filter: ArgoCdResourceFilter, { group, kind }: GroupKind, cluster = IN_CLUSTER): boolean {
  const groups = filter.apiGroups ?? [];
  const kinds = filter.kinds ?? [];
  const clusters = filter.clusters ?? [];
  return (
    (groups.length === 0 || groups.some((pattern) => globOf(pattern).test(group))) &&
    (kinds.length === 0 || kinds.some((name) => name === '*' || name === kind)) &&
    (clusters.length === 0 || clusters.some((pattern) => globOf(pattern).test(cluster)))
  );
}

const describeKind = ({ group, kind }: GroupKind) => (group === '' ? `core ${kind}` : `${group} ${kind}`);

/**
 * The install's exclusions without the kinds Argo CD is to sync, and what cannot be lifted so:
 * a kind Argo CD itself always excludes, one the install does not exclude, or one an entry
 * covers by a pattern rather than by its group and name.
 */
export function liftExclusions(
  install: readonly ArgoCdResourceFilter[],
  synced: readonly SyncedExcludedKind[],
): { exclusions: ArgoCdResourceFilter[]; errors: string[] } {
  const errors: string[] = [];
  let exclusions: ArgoCdResourceFilter[] = [...install];
  for (const entry of synced) {
    const name = describeKind(entry);
    if (ARGOCD_CORE_EXCLUSIONS.some((filter) => filterMatches(filter, entry))) {
      errors.push(`syncExcludedKinds: Argo CD always excludes ${name} (its core exclusions): render another kind`);
      continue;
    }
    const covering = exclusions.filter((filter) => filterMatches(filter, entry));
    if (covering.length === 0) {
      errors.push(`syncExcludedKinds: the install's resource.exclusions do not exclude ${name}: remove it from the list`);
      continue;
    }
    const byPattern = covering.find(
      (filter) => !(filter.apiGroups ?? []).includes(entry.group) || !(filter.kinds ?? []).includes(entry.kind) || filter.clusters?.length,
    );
    if (byPattern) {
      errors.push(
        `syncExcludedKinds: ${name} is excluded by the pattern entry ${JSON.stringify(byPattern)}, which cannot be narrowed: pass resourceExclusions without it`,
      );
      continue;
    }
    // Each covering entry becomes one per group, the kind left out of its own group's.
    exclusions = exclusions.flatMap((filter) => {
      if (!covering.includes(filter)) return [filter];
      return (filter.apiGroups ?? []).flatMap((group) => {
        const kinds = (filter.kinds ?? []).filter((kind) => group !== entry.group || kind !== entry.kind);
        return kinds.length === 0 ? [] : [{ apiGroups: [group], kinds }];
      });
    });
  }
  return { exclusions, errors };
}

/**
 * Every object synth renders is of a kind Argo CD syncs: Argo CD leaves an excluded kind out of
 * its comparison, so it never applies the object and only warns (ExcludedResourceWarning).
 */
export function resourceExclusionsPolicy(exclusions: readonly ArgoCdResourceFilter[], source: string): ClusterPolicy {
  return {
    name: 'argocd.resource-exclusions',
    check(objects) {
      const problems: Problem[] = [];
      for (const object of objects) {
        const kind = { group: groupOf(String(object.manifest.apiVersion ?? '')), kind: String(object.manifest.kind ?? '') };
        const core = ARGOCD_CORE_EXCLUSIONS.some((filter) => filterMatches(filter, kind));
        if (!core && !exclusions.some((filter) => filterMatches(filter, kind))) continue;
        problems.push({
          origin: object.origin,
          object: objectRef(object.manifest),
          rule: 'argocd.excluded-resource',
          message: core
            ? `is a ${describeKind(kind)}, which Argo CD never syncs (its core exclusions): it would never be applied; render another kind`
            : `is a ${describeKind(kind)}, which ${source} exclude: Argo CD would never apply it (the app only shows an ExcludedResourceWarning); render another kind, or list { group: '${kind.group}', kind: '${kind.kind}' } in ArgoCd's syncExcludedKinds`,
        });
      }
      return problems;
    },
  };
}

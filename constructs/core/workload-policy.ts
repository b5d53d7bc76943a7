import type { ClusterPolicy, PolicyObject } from '../../framework/cluster.js';
import { isRecord, objectRef, type Problem } from '../../framework/model.js';
import {
  ENFORCE_LABEL,
  namespaceEnforceLevel,
  POD_SECURITY_LEVELS,
  POD_SECURITY_REASON_ANNOTATION,
  type PodSecurityLevel,
  podSecurityViolations,
  podSpecOf,
} from '../../framework/rules/pod-security.js';
import { floatingImageError } from './pinning.js';
import { containerResourcesError } from './resources.js';

/** Roles that give everything, or write access to everything in a namespace. */
const POWERFUL_ROLES = new Set(['cluster-admin', 'admin', 'edit']);
/** Subjects that stand for anyone, or for every workload of the cluster. */
const EVERYONE = new Set(['system:anonymous', 'system:unauthenticated', 'system:authenticated', 'system:serviceaccounts']);

/** Env var names that hold a credential; `_FILE`, `_PATH` and `_DIR` name where one is read from. */
const CREDENTIAL_NAME = /(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?)(?!.*_(FILE|PATH|DIR)$)/i;

/**
 * Values a credential-like name can hold that are no credential: a switch (`GF_AUTH_GITLAB_USE_REFRESH_TOKEN=true`)
 * or, for a name ending in _URL or _URI, a URL without user info (`GF_AUTH_GITLAB_TOKEN_URL`).
 */
function notACredential(name: string, value: string): boolean {
  if (/^(true|false|0|1|yes|no|on|off)$/i.test(value)) return true;
  if (!/_UR[LI]$/i.test(name)) return false;
  try {
    const url = new URL(value);
    return url.username === '' && url.password === '' && url.search === '';
  } catch {
    return false;
  }
}

/**
 * A command-line flag whose value is a credential: its last word names one (`--client-secret`,
 * `--api-key`, `--password`); `--token-ttl` or `--secret-name` do not.
 */
function isCredentialFlag(name: string): boolean {
  const words = name.toLowerCase().split(/[-_.]/).filter(Boolean);
  const last = words.at(-1) ?? '';
  const before = words.at(-2) ?? '';
  if (['password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'credential', 'credentials'].includes(last)) return true;
  return last === 'key' && ['api', 'private', 'secret', 'access'].includes(before);
}

/** A literal credential an argument list passes (`--password=x` or `--password x`), with its index. */
function credentialArgument(args: readonly unknown[]): { index: number; flag: string } | undefined {
  for (const [index, arg] of args.entries()) {
    if (typeof arg !== 'string') continue;
    const match = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=(.*))?$/.exec(arg);
    if (!match || !isCredentialFlag(match[1] as string)) continue;
    const next = args[index + 1];
    const value = match[2] ?? (typeof next === 'string' && !next.startsWith('-') ? next : undefined);
    // $(NAME) is expanded by the kubelet from the container's env (a secretKeyRef): not a literal.
    if (value !== undefined && value !== '' && !/^\$\([A-Za-z_][A-Za-z0-9_]*\)$/.test(value)) return { index, flag: match[1] as string };
  }
  return undefined;
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** The project's own objects: rendered, included, or (in the deep build) from a project file. */
function isProjects(object: PolicyObject): boolean {
  return object.origin.source === undefined || object.origin.source.startsWith('project file ');
}

/**
 * Workloads and RBAC: every Namespace carries a Pod Security level, restricted unless a recorded
 * reason says otherwise, and the project's pod templates meet their namespace's level; the
 * project's containers run pinned images with memory requests and limits and take no credential
 * as a literal env value; no binding gives a
 * powerful role to anonymous users, to every authenticated user or to every service account.
 * (Upstream pod templates are checked against their namespace's level by the deep build.)
 */
export const workloadPolicy: ClusterPolicy = {
  name: 'workloads',
  check: (objects, context) => {
    const problems: Problem[] = [];
    const report = (object: PolicyObject, rule: string, message: string) =>
      problems.push({ origin: object.origin, object: objectRef(object.manifest), rule: `policy.workloads.${rule}`, message });
    const levels = new Map<string, PodSecurityLevel>();
    const clusterRoles = new Map<string, Record<string, unknown>>();
    for (const object of objects) {
      const { manifest } = object;
      if (manifest.apiVersion === 'rbac.authorization.k8s.io/v1' && manifest.kind === 'ClusterRole') {
        clusterRoles.set(objectRef(manifest).name ?? '', manifest);
      }
      if (manifest.apiVersion !== 'v1' || manifest.kind !== 'Namespace') continue;
      const name = objectRef(manifest).name ?? '';
      const level = namespaceEnforceLevel(manifest);
      if (level === undefined || !(POD_SECURITY_LEVELS as readonly string[]).includes(level)) {
        report(
          object,
          'pod-security',
          `has no valid ${ENFORCE_LABEL} label (${POD_SECURITY_LEVELS.join(', ')}): label it restricted, or a lower level with the reason in annotation ${POD_SECURITY_REASON_ANNOTATION}`,
        );
        continue;
      }
      levels.set(name, level as PodSecurityLevel);
      const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
      const reason = isRecord(metadata.annotations) ? metadata.annotations[POD_SECURITY_REASON_ANNOTATION] : undefined;
      if (level !== 'restricted' && (typeof reason !== 'string' || reason.trim() === '')) {
        report(
          object,
          'pod-security',
          `enforces ${level}, below restricted, without a reason: say why in annotation ${POD_SECURITY_REASON_ANNOTATION}, or enforce restricted`,
        );
      }
    }
    for (const object of objects) {
      const { manifest } = object;
      const found = podSpecOf(manifest);
      // Without the deep build only the project's objects are here; with it, upstream ones too.
      if (found && (isProjects(object) || context?.built)) {
        const namespace = objectRef(manifest).namespace ?? '';
        const level = levels.get(namespace);
        // The deep build checks every pod template, upstream ones included, against its level itself.
        if (level !== undefined && level !== 'privileged' && !context?.built && isProjects(object)) {
          for (const violation of podSecurityViolations(manifest, level)) {
            report(object, 'pod-security', `namespace ${namespace} enforces ${level}: ${violation.path}: ${violation.message}`);
          }
        }
        for (const list of ['initContainers', 'containers'] as const) {
          records(found.spec[list]).forEach((container, index) => {
            const at = `${found.path}.${list}[${index}]`;
            const name = String(container.name ?? index);
            const image = typeof container.image === 'string' ? container.image : '';
            const imageError = image === '' ? 'has no image' : floatingImageError(image);
            if (imageError)
              report(
                object,
                'image',
                `${at}: container "${name}" ${imageError.replace(/^image /, 'runs image ')}: pin a release tag or a digest`,
              );
            records(container.env).forEach((variable, envIndex) => {
              const envName = String(variable.name ?? '');
              if (
                typeof variable.value === 'string' &&
                variable.value !== '' &&
                CREDENTIAL_NAME.test(envName) &&
                !notACredential(envName, variable.value)
              ) {
                report(
                  object,
                  'secret-env',
                  `${at}.env[${envIndex}]: container "${name}" sets ${envName} to a literal value, which lands in git and in the pod spec anyone with read access sees: read it with valueFrom.secretKeyRef from a SopsSecret`,
                );
              }
            });
            for (const field of ['command', 'args'] as const) {
              const list = Array.isArray(container[field]) ? (container[field] as unknown[]) : [];
              const found = credentialArgument(list);
              if (found) {
                report(
                  object,
                  'secret-args',
                  `${at}.${field}[${found.index}]: container "${name}" passes --${found.flag} a literal value, which lands in git and in the pod spec anyone with read access sees: pass it as $(VAR) from an env var with valueFrom.secretKeyRef, or as a file from a SopsSecret volume`,
                );
              }
            }
            const resources = isRecord(container.resources) ? container.resources : {};
            const quantities = (field: 'requests' | 'limits') => {
              const values = isRecord(resources[field]) ? resources[field] : {};
              const text = (value: unknown) => (value === undefined || value === null ? undefined : String(value));
              return { memory: text(values.memory), cpu: text(values.cpu) };
            };
            const resourcesError = containerResourcesError({ requests: quantities('requests'), limits: quantities('limits') });
            // A quantity that does not parse is the schema's finding (format quantity); the order of two is this one's.
            if (resourcesError && !resourcesError.includes('is not a quantity')) {
              report(object, 'resources', `${at}: container "${name}" ${resourcesError}`);
            }
            for (const field of ['requests', 'limits'] as const) {
              const values = isRecord(resources[field]) ? resources[field] : {};
              if (values.memory === undefined) {
                report(
                  object,
                  'resources',
                  `${at}: container "${name}" has no resources.${field}.memory: without it ${field === 'limits' ? 'one leak can exhaust the node' : 'the scheduler cannot place it by memory'}; set it`,
                );
              }
            }
          });
        }
      }
      const binding =
        manifest.apiVersion === 'rbac.authorization.k8s.io/v1' &&
        (manifest.kind === 'RoleBinding' || manifest.kind === 'ClusterRoleBinding');
      if (!binding) continue;
      const roleRef = isRecord(manifest.roleRef) ? manifest.roleRef : {};
      const roleName = String(roleRef.name ?? '');
      const role = roleRef.kind === 'ClusterRole' ? clusterRoles.get(roleName) : undefined;
      const wildcard = records(role?.rules).some((rule) => Array.isArray(rule.verbs) && rule.verbs.includes('*'));
      if (!POWERFUL_ROLES.has(roleName) && !wildcard) continue;
      for (const subject of records(manifest.subjects)) {
        const name = String(subject.name ?? '');
        if (name !== name.trim()) {
          report(
            object,
            'rbac',
            `binds ${roleRef.kind} ${roleName} to ${subject.kind} ${JSON.stringify(name)}, a name with leading or trailing spaces: the API server matches names exactly, so it binds nobody you meant; remove the spaces`,
          );
        }
        // system:serviceaccounts:<namespace> is every service account of a namespace, today's and tomorrow's.
        const namespaceGroup = subject.kind === 'Group' ? /^system:serviceaccounts:([^:]+)$/.exec(name) : null;
        if (EVERYONE.has(name) || namespaceGroup) {
          const who = namespaceGroup ? `every service account of namespace ${namespaceGroup[1]}` : 'everyone of its kind';
          report(
            object,
            'rbac',
            `binds ${roleRef.kind} ${roleName} to ${subject.kind} ${name}, which is ${who}: bind it to named users, groups or service accounts`,
          );
        }
      }
    }
    return problems;
  },
};

/**
 * Kubernetes metadata syntax, as the API server's validation defines it
 * (k8s.io/apimachinery/pkg/util/validation).
 */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Total size limit of all annotations on one object (keys plus values). */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

export function dns1123LabelError(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
  }
  return undefined;
}

export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length > 253) return `must be at most 253 characters (has ${value.length})`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", each part starting and ending with a letter or digit';
  }
  return undefined;
}

export function dns1035LabelError(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!DNS1035_LABEL.test(value)) {
    return 'must be a DNS-1035 label: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
  }
  return undefined;
}

/** RBAC and a few other kinds only require a name usable as a URL path segment. */
export function pathSegmentNameError(value: string): string | undefined {
  if (value === '.' || value === '..') return `may not be "${value}"`;
  if (/[/%]/.test(value)) return 'may not contain "/" or "%"';
  if (value.length > 253) return `must be at most 253 characters (has ${value.length})`;
  return undefined;
}

/** Label and annotation keys: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
export function qualifiedNameError(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'must be "name" or "prefix/name" with at most one "/"';
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix.length === 0) return 'has an empty prefix before "/"';
    const prefixError = dns1123SubdomainError(prefix);
    if (prefixError) return `prefix "${prefix}" ${prefixError}`;
  }
  if (name.length === 0) return 'has an empty name part';
  if (name.length > 63) return `name part must be at most 63 characters (has ${name.length})`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return 'name part must consist of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return `must be at most 63 characters (has ${value.length})`;
  if (!LABEL_VALUE.test(value)) {
    return 'must be empty or consist of letters, digits, "-", "_" and ".", starting and ending with a letter or digit';
  }
  return undefined;
}

type NameRule = (value: string) => string | undefined;

/** Kinds whose names Kubernetes validates more strictly (or more loosely) than a DNS-1123 subdomain. */
const NAME_RULES: Record<string, NameRule> = {
  '/Namespace': dns1123LabelError,
  '/Service': dns1035LabelError,
  'rbac.authorization.k8s.io/Role': pathSegmentNameError,
  'rbac.authorization.k8s.io/ClusterRole': pathSegmentNameError,
  'rbac.authorization.k8s.io/RoleBinding': pathSegmentNameError,
  'rbac.authorization.k8s.io/ClusterRoleBinding': pathSegmentNameError,
  // The CronJob controller appends an 11-character suffix to the Job names it creates.
  'batch/CronJob': (value) => (value.length > 52 ? `must be at most 52 characters (has ${value.length})` : dns1123SubdomainError(value)),
};

export function objectNameError(group: string, kind: string, name: string): string | undefined {
  const rule = NAME_RULES[`${group}/${kind}`] ?? dns1123SubdomainError;
  return rule(name);
}

export function generateNameError(prefix: string): string | undefined {
  // The server appends five random characters; the prefix must still form a valid name then.
  const trimmed = prefix.endsWith('-') ? `${prefix}x` : prefix;
  return dns1123SubdomainError(trimmed);
}

import { TRUENAS_DRIVER_KINDS, type TrueNasDriverKind } from '../constructs/storage/driver-config.js';
import { InventoryError, type InventoryIssue } from '../framework/cluster.js';
import { isAgeRecipient, isDnsLabel, isDnsName } from '../framework/rules/network.js';

/**
 * Facts about one cluster, read from `inventory/<cluster>.json`. The NixOS modules read the same
 * file (`nixos/lib/cluster.nix`, with `builtins.fromJSON`), so it stays plain JSON. Fields only the
 * hosts use (interfaces, gateways, resolvers, SSH keys, cluster DNS IPs, node CIDR sizes) are
 * checked here too, so a typo fails `synth` before it reaches a NixOS build.
 */
export interface ClusterInventory {
  readonly name: string;
  readonly domain: {
    /** Base domain, e.g. `example.org`. */
    readonly base: string;
    /** Domain of cluster-scoped hosts, e.g. `k8s.example.org`. */
    readonly cluster: string;
    /** Domain of the site's machines. */
    readonly site: string;
  };
  readonly kubernetes: {
    readonly clusterDomain: string;
    readonly podCidrs: readonly string[];
    readonly serviceCidrs: readonly string[];
    readonly apiServiceIps: readonly string[];
    readonly apiServer: { readonly host: string; readonly port: number };
    /** Service IPs of the cluster DNS (kubelet `clusterDNS`); each lies in a service CIDR of its family. */
    readonly dnsServiceIps: readonly string[];
    /**
     * Prefix length of the pod CIDR each node gets (kube-controller-manager
     * `--node-cidr-mask-size-ipv4/-ipv6`): at least the pod CIDR's prefix, at most 16 bits longer.
     */
    readonly nodeCidrMaskSizes: { readonly ipv4: number; readonly ipv6: number };
  };
  readonly hosts: readonly HostInventory[];
  readonly network: {
    readonly cni: string;
    readonly ipv4NativeRoutingCidr: string;
    readonly mtu: number;
    /** Prefix lengths of the hosts' subnets (the hosts' `ipv4`/`ipv6` are configured with them). */
    readonly prefixLengths: { readonly ipv4: number; readonly ipv6: number };
    /** Default gateways of the hosts, inside every host's subnet (IPv6 may also be link-local). */
    readonly gateways: { readonly ipv4: string; readonly ipv6: string };
    /** DNS resolvers of the hosts. */
    readonly nameservers: readonly string[];
  };
  readonly vault: {
    readonly address: string;
    readonly pkiMounts: { readonly kubernetes: string; readonly etcd: string; readonly frontProxy: string };
    readonly serviceAccountKeyPath: string;
  };
  readonly gitops: {
    readonly repoURL: string;
    readonly targetRevision: string;
    readonly url: string;
    /** Public half of the age key ArgoCD (KSOPS) decrypts with: every SOPS file must be encrypted for it. */
    readonly sopsAgeRecipient: string;
  };
  readonly sso: {
    readonly oidcIssuerUrl: string;
    readonly allowedEmails: readonly string[];
    /** Application ID of the GitLab OAuth application ArgoCD's Dex signs in with (not a secret). */
    readonly gitlabApplicationId: string;
    /** GitLab groups (full paths) whose members may sign in to ArgoCD, with its operators role. */
    readonly operatorGroups: readonly string[];
  };
  readonly acme: { readonly email: string; readonly dnsZones: readonly string[] };
  readonly storage: StorageInventory;
  /** Public keys allowed to log in to the hosts as root. May be empty (the NixOS build then warns). */
  readonly ssh: { readonly authorizedKeys: readonly string[] };
  /**
   * The one place that marks example values: each field (a path such as `acme.email`) that still
   * holds a placeholder, with what to put there. Synth lists them; `--production` refuses them.
   * @default none
   */
  readonly examples?: Readonly<Record<string, string>>;
}

export interface InventoryExample {
  /** The field's path, e.g. `acme.email` or `hosts[0].ipv4`. */
  readonly field: string;
  /** The value there, as text (lists joined with commas). */
  readonly value: string;
  readonly replace: string;
}

/** The value at a path such as `hosts[0].ipv4`, or undefined. */
function valueAt(data: unknown, path: string): unknown {
  let current: unknown = data;
  for (const segment of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (segment.startsWith('[')) current = Array.isArray(current) ? current[Number(segment.slice(1, -1))] : undefined;
    else
      current =
        typeof current === 'object' && current !== null && !Array.isArray(current)
          ? (current as Record<string, unknown>)[segment]
          : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(', ');
  if (Array.isArray(value)) return `${value.length} entries`;
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The inventory's example values, each with the value its path holds. */
export function inventoryExamples(inventory: ClusterInventory): InventoryExample[] {
  return Object.entries(inventory.examples ?? {}).map(([field, replace]) => ({
    field,
    value: describeValue(valueAt(inventory, field)),
    replace,
  }));
}

function readExamples(data: unknown, issues: InventoryIssue[]): Record<string, string> | undefined {
  const raw = typeof data === 'object' && data !== null ? (data as Record<string, unknown>).examples : undefined;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: 'examples', message: 'must be an object of field paths to what replaces them' });
    return undefined;
  }
  const examples: Record<string, string> = {};
  for (const [path, replace] of Object.entries(raw)) {
    if (typeof replace !== 'string' || replace.trim() === '') {
      issues.push({ path: `examples.${path}`, message: 'must say what replaces the example value (a non-empty string)' });
      continue;
    }
    // A field already reported (missing or invalid) is not reported again here.
    const reported = issues.some((issue) => path === issue.path || path.startsWith(`${issue.path}.`) || path.startsWith(`${issue.path}[`));
    if (reported) continue;
    if (path.split('.')[0] === 'examples' || valueAt(data, path) === undefined) {
      issues.push({
        path: `examples.${path}`,
        message: 'names no field of the inventory (write a path such as acme.email or hosts[0].ipv4)',
      });
      continue;
    }
    examples[path] = replace;
  }
  return examples;
}

export type HostRole = 'control-plane' | 'worker' | 'etcd';

export interface HostInventory {
  readonly name: string;
  readonly fqdn: string;
  readonly ipv4: string;
  readonly ipv6: string;
  /** Network interface that carries `ipv4` and `ipv6`, e.g. `eno1`. */
  readonly interface: string;
  readonly roles: readonly HostRole[];
}

/** The TrueNAS box and the democratic-csi drivers that serve the cluster's volumes from it. */
export interface StorageInventory {
  readonly truenas: {
    /** API (and SSH) host. */
    readonly host: string;
    /** The NAS's name on the storage network: NFS shares and the iSCSI portal. */
    readonly storageHost: string;
    /** @default https on 443 */
    readonly api?: { readonly protocol: 'https' | 'http'; readonly port: number };
    /** SSH login of the ssh-based drivers. @default root on 22 */
    readonly ssh?: { readonly port: number; readonly username: string };
  };
  /** One entry per CSI driver. @default none (a cluster without the storage app) */
  readonly drivers?: readonly StorageDriverInventory[];
}

export interface StorageDriverInventory {
  /** Release name of the driver's chart; names its config Secret and SOPS file. A DNS label. */
  readonly name: string;
  readonly driver: TrueNasDriverKind;
  readonly csiDriverName: string;
  /** Parent datasets of the volumes and of detached snapshots; no two drivers share or nest them. */
  readonly datasets: { readonly volumes: string; readonly snapshots: string };
  /** Required for the iSCSI drivers, refused for the others. */
  readonly iscsi?: {
    /** `host:port` the nodes log in to. */
    readonly portal: string;
    readonly namePrefix: string;
    readonly nameSuffix: string;
    readonly targetGroups: readonly {
      readonly portalGroup: number;
      readonly initiatorGroup: number;
      readonly authType: 'None' | 'CHAP' | 'CHAP Mutual';
      readonly authGroup?: number;
    }[];
    readonly zvolBlocksize: string;
    readonly extentBlocksize: 512 | 1024 | 2048 | 4096;
  };
  readonly storageClasses: readonly StorageClassInventory[];
  /** @default none */
  readonly snapshotClasses?: readonly { readonly name: string; readonly deletionPolicy: 'Retain' | 'Delete' }[];
}

export interface StorageClassInventory {
  readonly name: string;
  readonly fsType: 'nfs' | 'ext3' | 'ext4' | 'xfs';
  readonly reclaimPolicy: 'Retain' | 'Delete';
  readonly volumeBindingMode: 'Immediate' | 'WaitForFirstConsumer';
  readonly allowVolumeExpansion: boolean;
  readonly default: boolean;
  readonly mountOptions: readonly string[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Walks untyped JSON, collecting every issue with its path instead of stopping at the first. */
class Reader {
  constructor(
    private readonly value: unknown,
    private readonly path: string,
    private readonly issues: InventoryIssue[],
  ) {}

  private at(key: string | number): string {
    if (typeof key === 'number') return `${this.path}[${key}]`;
    return this.path ? `${this.path}.${key}` : key;
  }

  private field(key: string): unknown {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value)
      ? (this.value as Record<string, unknown>)[key]
      : undefined;
  }

  issue(key: string, message: string): void {
    this.issues.push({ path: this.at(key), message });
  }

  object<T>(key: string, read: (reader: Reader) => T): T {
    const value = this.field(key);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.issue(key, value === undefined ? 'is required (an object)' : 'must be an object');
    }
    return read(new Reader(value, this.at(key), this.issues));
  }

  string(key: string, check?: (value: string) => string | undefined): string {
    const value = this.field(key);
    if (typeof value !== 'string' || value.length === 0) {
      this.issue(key, value === undefined ? 'is required (a string)' : 'must be a non-empty string');
      return '';
    }
    const problem = check?.(value);
    // A value that looks like a private key is never echoed back (terminals and CI logs keep it).
    if (problem) this.issue(key, /PRIVATE KEY|SECRET-KEY/i.test(value) ? problem : `"${value}" ${problem}`);
    return value;
  }

  number(key: string, min: number, max: number): number {
    const value = this.field(key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.issue(key, value === undefined ? `is required (an integer from ${min} to ${max})` : `must be an integer from ${min} to ${max}`);
      return 0;
    }
    return value;
  }

  array<T>(key: string, read: (reader: Reader, index: number) => T, minItems = 1): T[] {
    const value = this.field(key);
    if (!Array.isArray(value)) {
      this.issue(key, value === undefined ? 'is required (a list)' : 'must be a list');
      return [];
    }
    if (value.length < minItems) this.issue(key, `must have at least ${minItems} item${minItems === 1 ? '' : 's'}`);
    return value.map((item, index) => read(new Reader(item, `${this.at(key)}[${index}]`, this.issues), index));
  }

  strings(key: string, check?: (value: string) => string | undefined, minItems = 1): string[] {
    return this.array(key, (item) => item.self(check), minItems);
  }

  /** The value itself as a string (for list items). */
  self(check?: (value: string) => string | undefined): string {
    if (typeof this.value !== 'string' || this.value.length === 0) {
      this.issues.push({ path: this.path, message: 'must be a non-empty string' });
      return '';
    }
    const problem = check?.(this.value);
    if (problem) this.issues.push({ path: this.path, message: `"${this.value}" ${problem}` });
    return this.value;
  }

  /** Reports keys the inventory does not know, so typos do not pass silently. */
  known(keys: readonly string[]): void {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value)) return;
    for (const key of Object.keys(this.value)) {
      if (!keys.includes(key)) this.issue(key, `is not a known field (known: ${keys.join(', ')})`);
    }
  }
}

const dnsName = (value: string) => (isDnsName(value) ? undefined : 'is not a valid lowercase DNS name');
const dnsLabel = (value: string) => (isDnsLabel(value) ? undefined : 'is not a valid DNS-1123 label');
const email = (value: string) => (EMAIL.test(value) ? undefined : 'is not an e-mail address');
/** A GitLab group's full path (`group`, `parent/sub`), as Dex reports group membership. */
const gitlabGroup = (value: string) =>
  /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/.test(value) ? undefined : 'is not a GitLab group path';
const httpsUrl = (value: string) => {
  try {
    return new URL(value).protocol === 'https:' ? undefined : 'must be an https:// URL';
  } catch {
    return 'is not a URL';
  }
};
const ageRecipient = (value: string) => {
  if (/^AGE-SECRET-KEY-/i.test(value)) return 'is an age PRIVATE key: give the public key (age-keygen -y keys.txt) and discard this one';
  return isAgeRecipient(value)
    ? undefined
    : 'is not an age public key (age1 followed by 58 bech32 characters whose checksum holds): copy it again from age-keygen -y';
};
const ROLES: readonly HostRole[] = ['control-plane', 'worker', 'etcd'];
/** The CNIs the hosts are set up for: their modules turn off flannel and kube-proxy and expect Cilium in their place. */
const SUPPORTED_CNIS: readonly string[] = ['cilium'];
const supportedCni = (value: string) =>
  SUPPORTED_CNIS.includes(value)
    ? undefined
    : `is not a supported CNI (supported: ${SUPPORTED_CNIS.join(', ')}): the NixOS hosts turn off flannel and kube-proxy and expect Cilium in their place`;

type Family = 'ipv4' | 'ipv6';
const FAMILY_BITS: Record<Family, number> = { ipv4: 32, ipv6: 128 };
const FAMILY_NAMES: Record<Family, string> = { ipv4: 'IPv4', ipv6: 'IPv6' };

/**
 * An IP address as a number. Written out rather than taken from `node:net` so that both readers
 * accept the same text: dotted IPv4 without leading zeros, IPv6 as hex groups with at most one
 * "::" (no zone, no embedded IPv4), as `nixos/lib/ip.nix` parses them. (The synth also reads the
 * inventory in its sandbox, which refuses app code calling `node:net`.)
 */
interface Address {
  readonly family: Family;
  readonly value: bigint;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

function parseAddress(text: string): Address | undefined {
  if (IPV4.test(text)) return { family: 'ipv4', value: text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n) };
  if (!/^[0-9a-fA-F:]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const given = [...left, ...right];
  if (!given.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  if (halves.length === 1 ? given.length !== 8 : given.length > 7) return undefined;
  const words = [...left, ...Array<string>(8 - given.length).fill('0'), ...right];
  return { family: 'ipv6', value: words.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n) };
}

/** The canonical text of an address: IPv6 in lower case with the longest run of zero groups as "::" (RFC 5952). */
function formatAddress({ family, value }: Address): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join('.');
  const words = Array.from({ length: 8 }, (_, index) => Number((value >> BigInt(112 - 16 * index)) & 0xffffn));
  // The longest run of two or more zero groups, the first of equal ones.
  let best = { start: -1, length: 1 };
  for (let start = 0; start < 8; start++) {
    let end = start;
    while (end < 8 && words[end] === 0) end++;
    if (end - start > best.length) best = { start, length: end - start };
  }
  const hex = (part: number[]) => part.map((word) => word.toString(16)).join(':');
  if (best.start < 0) return hex(words);
  return `${hex(words.slice(0, best.start))}::${hex(words.slice(best.start + best.length))}`;
}

const familyOf = (text: string): Family | undefined => parseAddress(text)?.family;
const sameAddress = (a: string, b: string): boolean => {
  const x = parseAddress(a);
  const y = parseAddress(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
};

const ipv4 = (value: string) => (familyOf(value) === 'ipv4' ? undefined : 'is not an IPv4 address');
const ipv6 = (value: string) => (familyOf(value) === 'ipv6' ? undefined : 'is not an IPv6 address');
const anyIp = (value: string) => (familyOf(value) !== undefined ? undefined : 'is not an IP address');

interface Subnet {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  /** The network address: the address with its host bits cleared. */
  readonly network: bigint;
}

const hostBits = (subnet: { family: Family; prefix: number }) => BigInt(FAMILY_BITS[subnet.family] - subnet.prefix);

function subnetOf(text: string): Subnet | undefined {
  const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  const address = parseAddress(match?.[1] ?? '');
  const prefix = Number(match?.[2]);
  if (!match || !address || prefix > FAMILY_BITS[address.family]) return undefined;
  const bits = BigInt(FAMILY_BITS[address.family] - prefix);
  return { text, address: match[1] ?? '', prefix, family: address.family, network: (address.value >> bits) << bits };
}

/** A CIDR names a network: an address with host bits set is refused, with the network it likely means. */
const cidr = (value: string) => {
  const subnet = subnetOf(value);
  if (!subnet) return 'is not a CIDR (address/prefix)';
  if (parseAddress(subnet.address)?.value === subnet.network) return undefined;
  return `has host bits set: did you mean ${formatAddress({ family: subnet.family, value: subnet.network })}/${subnet.prefix}?`;
};
const ipv4Cidr = (value: string) => cidr(value) ?? (subnetOf(value)?.family === 'ipv4' ? undefined : 'is not an IPv4 CIDR');

/** Network interface name as Linux accepts it in practice: up to 15 characters, no "/", ":" or space. */
const interfaceName = (value: string) =>
  /^[A-Za-z0-9_.-]{1,15}$/.test(value) ? undefined : 'is not a network interface name (1-15 letters, digits, ".", "-", "_")';
/** One OpenSSH public key line: `<type> <base64> [comment]`. */
const sshPublicKey = (value: string) =>
  /^(ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+/]+={0,2}( \S.*)?$/.test(value)
    ? undefined
    : 'is not an SSH public key ("<type> <base64> [comment]")';
const vaultPath = (value: string) =>
  /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(value) ? undefined : 'is not a Vault path (segments separated by "/")';

/** The subnets of a non-empty list that passed `cidr`, or undefined when it is empty or any entry did not (that is reported already). */
function subnets(values: readonly string[]): Subnet[] | undefined {
  const parsed: Subnet[] = [];
  for (const text of values) {
    const subnet = subnetOf(text);
    if (cidr(text) !== undefined || !subnet) return undefined;
    parsed.push(subnet);
  }
  return parsed.length > 0 ? parsed : undefined;
}

function contains(subnet: Subnet, address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed || parsed.family !== subnet.family) return false;
  const bits = hostBits(subnet);
  return parsed.value >> bits === subnet.network >> bits;
}

const LINK_LOCAL_V6 = subnetOf('fe80::/10') as Subnet;
/** kube-controller-manager splits a pod CIDR into at most 2^16 node CIDRs. */
const MAX_NODE_CIDR_BITS = 16;

/** For each entry of a list of addresses or subnets, the index of the first entry of its family when that is an earlier one. */
function earlierOfFamily(families: readonly (Family | undefined)[]): (number | undefined)[] {
  return families.map((family, index) => {
    const first = families.indexOf(family);
    return family !== undefined && first < index ? first : undefined;
  });
}

/** Checks between fields, run once every field has been read; reports only about valid values. */
function crossCheck(inventory: ClusterInventory, issues: InventoryIssue[]): void {
  const push = (path: string, message: string) => issues.push({ path, message });
  const hostNames = new Set<string>();
  const fqdns = new Map<string, string>();
  inventory.hosts.forEach((host, index) => {
    if (hostNames.has(host.name)) push(`hosts[${index}].name`, `"${host.name}" is listed twice`);
    hostNames.add(host.name);
    // Two hosts with one FQDN: one of them is unreachable by name, and their certificates collide.
    if (host.fqdn === '') return;
    const first = fqdns.get(host.fqdn);
    if (first) push(`hosts[${index}].fqdn`, `"${host.fqdn}" is also the fqdn of ${first}`);
    else fqdns.set(host.fqdn, `hosts[${index}] (${host.name})`);
  });

  // Pods and Services have the same families: one range of each (dual-stack) or the same one (single-stack).
  const k8s = inventory.kubernetes;
  const serviceCidrs = subnets(k8s.serviceCidrs);
  const podCidrs = subnets(k8s.podCidrs);
  for (const [path, ranges] of [
    ['kubernetes.podCidrs', podCidrs],
    ['kubernetes.serviceCidrs', serviceCidrs],
  ] as const) {
    if (!ranges) continue;
    earlierOfFamily(ranges.map((s) => s.family)).forEach((first, index) => {
      const range = ranges[index];
      if (first === undefined || !range) return;
      push(
        `${path}[${index}]`,
        `${range.text} is a second ${FAMILY_NAMES[range.family]} range (${path}[${first}] is ${ranges[first]?.text}): Kubernetes takes one per family`,
      );
    });
  }
  if (podCidrs && serviceCidrs) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const pod = podCidrs.find((s) => s.family === family);
      const service = serviceCidrs.find((s) => s.family === family);
      if (pod && !service)
        push(
          'kubernetes.serviceCidrs',
          `has no ${FAMILY_NAMES[family]} range, but kubernetes.podCidrs has ${pod.text}: pods and Services need the same families (dual-stack: both in both lists)`,
        );
      if (service && !pod)
        push(
          'kubernetes.podCidrs',
          `has no ${FAMILY_NAMES[family]} range, but kubernetes.serviceCidrs has ${service.text}: pods and Services need the same families (dual-stack: both in both lists)`,
        );
    }
  }

  // One API and one DNS Service IP per service family; an address of a family the services lack is reported below.
  const extraOfFamily = new Set<string>();
  for (const key of ['apiServiceIps', 'dnsServiceIps'] as const) {
    const ips = k8s[key];
    const families = ips.map(familyOf);
    earlierOfFamily(families).forEach((first, index) => {
      const family = families[index];
      if (first === undefined || family === undefined) return;
      extraOfFamily.add(`${key}[${index}]`);
      push(
        `kubernetes.${key}[${index}]`,
        `"${ips[index]}" is a second ${FAMILY_NAMES[family]} address (kubernetes.${key}[${first}] is ${ips[first]}): give one per service CIDR family`,
      );
    });
    if (!serviceCidrs || ips.length === 0 || families.includes(undefined)) continue;
    for (const range of serviceCidrs.filter((s, index) => serviceCidrs.findIndex((o) => o.family === s.family) === index)) {
      if (!ips.some((ip) => familyOf(ip) === range.family)) {
        push(
          `kubernetes.${key}`,
          `has no ${FAMILY_NAMES[range.family]} address, but kubernetes.serviceCidrs has ${range.text}: give one per service CIDR family`,
        );
      }
    }
  }

  if (serviceCidrs) {
    k8s.dnsServiceIps.forEach((ip, index) => {
      const family = familyOf(ip);
      if (family === undefined || extraOfFamily.has(`dnsServiceIps[${index}]`)) return;
      const api = k8s.apiServiceIps.findIndex((other) => sameAddress(other, ip));
      if (!serviceCidrs.some((s) => contains(s, ip))) {
        const candidates = serviceCidrs.filter((s) => s.family === family).map((s) => s.text);
        push(
          `kubernetes.dnsServiceIps[${index}]`,
          `"${ip}" is not inside a service CIDR of its family (${candidates.length > 0 ? candidates.join(', ') : `there is no ${FAMILY_NAMES[family]} one`})`,
        );
      } else if (api >= 0) {
        push(
          `kubernetes.dnsServiceIps[${index}]`,
          `"${ip}" is also kubernetes.apiServiceIps[${api}], the address of the kubernetes Service: the cluster DNS needs one of its own`,
        );
      }
    });
  }

  for (const family of ['ipv4', 'ipv6'] as const) {
    const size = k8s.nodeCidrMaskSizes[family];
    if (!podCidrs || size === 0) continue;
    for (const pod of podCidrs.filter((s) => s.family === family)) {
      const max = Math.min(pod.prefix + MAX_NODE_CIDR_BITS, FAMILY_BITS[family]);
      if (size < pod.prefix || size > max) {
        push(
          `kubernetes.nodeCidrMaskSizes.${family}`,
          `${size} must be from ${pod.prefix} to ${max} for pod CIDR ${pod.text} (at least its prefix, at most ${MAX_NODE_CIDR_BITS} bits longer)`,
        );
      }
    }
  }

  // kube-apiserver gives the kubernetes Service the first address of the service range
  // (ServiceIPRange in kubernetes/pkg/controlplane/apiserver/options/options.go: GetIndexedIP(range, 1)).
  if (serviceCidrs) {
    k8s.apiServiceIps.forEach((ip, index) => {
      const family = familyOf(ip);
      if (family === undefined || extraOfFamily.has(`apiServiceIps[${index}]`)) return;
      const range = serviceCidrs.find((s) => s.family === family);
      if (!range) {
        push(
          `kubernetes.apiServiceIps[${index}]`,
          `"${ip}" is not inside a service CIDR of its family (there is no ${FAMILY_NAMES[family]} one)`,
        );
        return;
      }
      const first = formatAddress({ family, value: range.network + 1n });
      if (!sameAddress(ip, first)) {
        push(
          `kubernetes.apiServiceIps[${index}]`,
          `"${ip}" must be ${first}, the first address of service CIDR ${range.text} (kube-apiserver gives the kubernetes Service the first address of its service range)`,
        );
      }
    });
  }

  // Pod, service and host ranges must not overlap: routes to one would capture the other.
  const hostSubnets: { path: string; subnet: Subnet }[] = [];
  inventory.hosts.forEach((host, index) => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const prefix = inventory.network.prefixLengths[family];
      const subnet = prefix > 0 ? subnetOf(`${host[family]}/${prefix}`) : undefined;
      if (subnet?.family === family) hostSubnets.push({ path: `hosts[${index}].${family}`, subnet });
    }
  });
  const ranges = [
    ...(podCidrs ?? []).map((subnet, index) => ({ path: `kubernetes.podCidrs[${index}]`, subnet })),
    ...(serviceCidrs ?? []).map((subnet, index) => ({ path: `kubernetes.serviceCidrs[${index}]`, subnet })),
  ];
  const overlaps = (a: Subnet, b: Subnet) => {
    if (a.family !== b.family) return false;
    const bits = hostBits({ family: a.family, prefix: Math.min(a.prefix, b.prefix) });
    return a.network >> bits === b.network >> bits;
  };
  ranges.forEach((range, index) => {
    for (const other of ranges.slice(index + 1)) {
      if (range.path.split('[')[0] !== other.path.split('[')[0] && overlaps(range.subnet, other.subnet)) {
        push(other.path, `${other.subnet.text} overlaps ${range.path} (${range.subnet.text}): pod and service ranges must be disjoint`);
      }
    }
    const host = hostSubnets.find(({ subnet }) => overlaps(range.subnet, subnet));
    if (host) {
      push(
        range.path,
        `${range.subnet.text} overlaps the hosts' subnet ${host.subnet.text} (${host.path}): pick a range the hosts' network does not use`,
      );
    }
  });

  // A host address is the host's own: not another host's, not its subnet's network or broadcast
  // address (except in /31 and /127 point-to-point subnets), not the gateway.
  const network = inventory.network;
  const addresses = new Map<string, string>();
  inventory.hosts.forEach((host, index) => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const path = `hosts[${index}].${family}`;
      const address = parseAddress(host[family]);
      const first = addresses.get(host[family]);
      if (first) {
        push(path, `"${host[family]}" is also the address of ${first}`);
        continue;
      }
      addresses.set(host[family], `hosts[${index}] (${host.name})`);
      if (address?.family !== family) continue;
      const subnet = hostSubnets.find((s) => s.path === path)?.subnet;
      const pointToPoint = subnet !== undefined && subnet.prefix >= FAMILY_BITS[family] - 1;
      const inSubnet = subnet ? `its /${subnet.prefix} subnet (${formatAddress({ family, value: subnet.network })}/${subnet.prefix})` : '';
      if (subnet && !pointToPoint && address.value === subnet.network) {
        push(path, `"${host[family]}" is the network address of ${inSubnet}: give the host another address`);
      } else if (subnet && !pointToPoint && family === 'ipv4' && address.value === subnet.network + (1n << hostBits(subnet)) - 1n) {
        push(path, `"${host[family]}" is the broadcast address of ${inSubnet}: give the host another address`);
      } else if (sameAddress(host[family], network.gateways[family])) {
        push(path, `"${host[family]}" is network.gateways.${family}, the hosts' default gateway: give the host another address`);
      }
    }
  });

  for (const family of ['ipv4', 'ipv6'] as const) {
    const gateway = network.gateways[family];
    const prefix = network.prefixLengths[family];
    if (familyOf(gateway) !== family || prefix === 0) continue;
    if (family === 'ipv6' && contains(LINK_LOCAL_V6, gateway)) continue;
    const outside = inventory.hosts.filter((host) => {
      const subnet = subnetOf(`${host[family]}/${prefix}`);
      return subnet?.family === family && !contains(subnet, gateway);
    });
    if (outside.length > 0) {
      push(
        `network.gateways.${family}`,
        `"${gateway}" is outside the /${prefix} subnet of ${outside.map((h) => `${h.name} (${h[family]})`).join(', ')}`,
      );
    }
  }

  // The cluster needs an API server and an etcd quorum (a majority of an even count tolerates no
  // more failures than one member fewer).
  if (inventory.hosts.length > 0) {
    const count = (role: HostRole) => inventory.hosts.filter((host) => host.roles.includes(role)).length;
    if (count('control-plane') === 0) push('hosts', 'has no host with the control-plane role: the cluster needs at least one API server');
    const etcd = count('etcd');
    if (etcd === 0) push('hosts', 'has no host with the etcd role: etcd needs at least one member');
    else if (etcd % 2 === 0) push('hosts', `has ${etcd} hosts with the etcd role: etcd needs an odd number of members`);
  }
}

/** A field of a JSON object as it is, for the optional and boolean fields of the storage section. */
const rawField = (value: unknown, key: string): unknown =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
const oneOf =
  (values: readonly (string | number)[]) =>
  (value: string): string | undefined =>
    values.includes(value) ? undefined : `is not one of ${values.join(', ')}`;
const hostPort = (value: string) => {
  const match = /^(.+):(\d+)$/.exec(value);
  return match && dnsName(match[1] ?? '') === undefined && Number(match[2]) >= 1 && Number(match[2]) <= 65535
    ? undefined
    : 'is not host:port';
};

function storageBoolean(r: Reader, raw: unknown, key: string): boolean {
  const value = rawField(raw, key);
  if (typeof value !== 'boolean') r.issue(key, value === undefined ? 'is required (true or false)' : 'must be true or false');
  return value === true;
}

function readStorageDriver(d: Reader, raw: unknown): StorageDriverInventory {
  d.known(['name', 'driver', 'csiDriverName', 'datasets', 'iscsi', 'storageClasses', 'snapshotClasses']);
  const driver = d.string('driver', oneOf(TRUENAS_DRIVER_KINDS)) as TrueNasDriverKind;
  const iscsiDriver = driver.endsWith('-iscsi');
  const rawIscsi = rawField(raw, 'iscsi');
  if (!iscsiDriver && rawIscsi !== undefined) d.issue('iscsi', `only the iSCSI drivers take iSCSI settings (driver is ${driver})`);
  const rawClasses = rawField(raw, 'storageClasses');
  const rawSnapshotClasses = rawField(raw, 'snapshotClasses');
  return {
    name: d.string('name', dnsLabel),
    driver,
    csiDriverName: d.string('csiDriverName', dnsName),
    datasets: d.object('datasets', (x) => {
      x.known(['volumes', 'snapshots']);
      return { volumes: x.string('volumes'), snapshots: x.string('snapshots') };
    }),
    ...(iscsiDriver || rawIscsi !== undefined
      ? {
          iscsi: d.object('iscsi', (i) => {
            i.known(['portal', 'namePrefix', 'nameSuffix', 'targetGroups', 'zvolBlocksize', 'extentBlocksize']);
            const rawGroups = rawField(rawIscsi, 'targetGroups');
            const extentBlocksize = i.number('extentBlocksize', 512, 4096);
            if (![0, 512, 1024, 2048, 4096].includes(extentBlocksize)) i.issue('extentBlocksize', 'must be 512, 1024, 2048 or 4096');
            return {
              portal: i.string('portal', hostPort),
              namePrefix: i.string('namePrefix'),
              nameSuffix: i.string('nameSuffix'),
              targetGroups: i.array('targetGroups', (g, index) => {
                g.known(['portalGroup', 'initiatorGroup', 'authType', 'authGroup']);
                const rawAuthGroup = rawField(Array.isArray(rawGroups) ? rawGroups[index] : undefined, 'authGroup');
                return {
                  portalGroup: g.number('portalGroup', 1, 65535),
                  initiatorGroup: g.number('initiatorGroup', 1, 65535),
                  authType: g.string('authType', oneOf(['None', 'CHAP', 'CHAP Mutual'])) as 'None' | 'CHAP' | 'CHAP Mutual',
                  ...(rawAuthGroup !== undefined ? { authGroup: g.number('authGroup', 1, 65535) } : {}),
                };
              }),
              zvolBlocksize: i.string('zvolBlocksize', oneOf(['512', '1K', '2K', '4K', '8K', '16K', '32K', '64K', '128K'])),
              extentBlocksize: extentBlocksize as 512 | 1024 | 2048 | 4096,
            };
          }),
        }
      : {}),
    storageClasses: d.array(
      'storageClasses',
      (c, index) => {
        const rawClass = Array.isArray(rawClasses) ? rawClasses[index] : undefined;
        c.known(['name', 'fsType', 'reclaimPolicy', 'volumeBindingMode', 'allowVolumeExpansion', 'default', 'mountOptions']);
        return {
          name: c.string('name', dnsName),
          fsType: c.string('fsType', oneOf(['nfs', 'ext3', 'ext4', 'xfs'])) as StorageClassInventory['fsType'],
          reclaimPolicy: c.string('reclaimPolicy', oneOf(['Retain', 'Delete'])) as 'Retain' | 'Delete',
          volumeBindingMode: c.string(
            'volumeBindingMode',
            oneOf(['Immediate', 'WaitForFirstConsumer']),
          ) as StorageClassInventory['volumeBindingMode'],
          allowVolumeExpansion: storageBoolean(c, rawClass, 'allowVolumeExpansion'),
          default: storageBoolean(c, rawClass, 'default'),
          mountOptions: c.strings('mountOptions', undefined, 0),
        };
      },
      0,
    ),
    ...(rawSnapshotClasses !== undefined
      ? {
          snapshotClasses: d.array(
            'snapshotClasses',
            (c) => {
              c.known(['name', 'deletionPolicy']);
              return {
                name: c.string('name', dnsName),
                deletionPolicy: c.string('deletionPolicy', oneOf(['Retain', 'Delete'])) as 'Retain' | 'Delete',
              };
            },
            0,
          ),
        }
      : {}),
  };
}

function readStorage(s: Reader, raw: unknown): StorageInventory {
  s.known(['truenas', 'drivers']);
  const rawTruenas = rawField(raw, 'truenas');
  const truenas = s.object('truenas', (t) => {
    t.known(['host', 'storageHost', 'api', 'ssh']);
    return {
      host: t.string('host', dnsName),
      storageHost: t.string('storageHost', dnsName),
      ...(rawField(rawTruenas, 'api') !== undefined
        ? {
            api: t.object('api', (a) => {
              a.known(['protocol', 'port']);
              return { protocol: a.string('protocol', oneOf(['https', 'http'])) as 'https' | 'http', port: a.number('port', 1, 65535) };
            }),
          }
        : {}),
      ...(rawField(rawTruenas, 'ssh') !== undefined
        ? {
            ssh: t.object('ssh', (h) => {
              h.known(['port', 'username']);
              return { port: h.number('port', 1, 65535), username: h.string('username') };
            }),
          }
        : {}),
    };
  });
  const rawDrivers = rawField(raw, 'drivers');
  if (rawDrivers === undefined) return { truenas };
  const drivers = s.array('drivers', (d, index) => readStorageDriver(d, Array.isArray(rawDrivers) ? rawDrivers[index] : undefined), 0);
  // Names synth would only report once rendered, here with their JSON paths.
  const seen = new Map<string, string>();
  const once = (kind: string, value: string, path: string) => {
    const key = `${kind}\u0000${value}`;
    const first = seen.get(key);
    if (first) s.issue(path, `${kind} "${value}" is also used at storage.${first}`);
    else seen.set(key, path);
  };
  drivers.forEach((driver, index) => {
    once('driver name', driver.name, `drivers[${index}].name`);
    once('CSI driver name', driver.csiDriverName, `drivers[${index}].csiDriverName`);
    driver.storageClasses.forEach((storageClass, classIndex) => {
      once('StorageClass', storageClass.name, `drivers[${index}].storageClasses[${classIndex}].name`);
    });
  });
  return { truenas, drivers };
}

/** Parses and checks an inventory; throws InventoryError listing every problem found. */
export function parseInventory(data: unknown, expectedName?: string): ClusterInventory {
  const issues: InventoryIssue[] = [];
  const r = new Reader(data, '', issues);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InventoryError([{ path: '(root)', message: 'the inventory must be a JSON object' }]);
  }
  r.known(['name', 'domain', 'kubernetes', 'hosts', 'network', 'vault', 'gitops', 'sso', 'acme', 'storage', 'ssh', 'examples']);
  const inventory: ClusterInventory = {
    name: r.string(
      'name',
      (value) =>
        dnsLabel(value) ??
        (expectedName !== undefined && value !== expectedName ? `must match the file name "${expectedName}"` : undefined),
    ),
    domain: r.object('domain', (d) => {
      d.known(['base', 'cluster', 'site']);
      return { base: d.string('base', dnsName), cluster: d.string('cluster', dnsName), site: d.string('site', dnsName) };
    }),
    kubernetes: r.object('kubernetes', (k) => {
      k.known(['clusterDomain', 'podCidrs', 'serviceCidrs', 'apiServiceIps', 'apiServer', 'dnsServiceIps', 'nodeCidrMaskSizes']);
      return {
        clusterDomain: k.string('clusterDomain', dnsName),
        podCidrs: k.strings('podCidrs', cidr),
        serviceCidrs: k.strings('serviceCidrs', cidr),
        apiServiceIps: k.strings('apiServiceIps', anyIp),
        apiServer: k.object('apiServer', (a) => {
          a.known(['host', 'port']);
          return { host: a.string('host', dnsName), port: a.number('port', 1, 65535) };
        }),
        dnsServiceIps: k.strings('dnsServiceIps', anyIp),
        nodeCidrMaskSizes: k.object('nodeCidrMaskSizes', (m) => {
          m.known(['ipv4', 'ipv6']);
          return { ipv4: m.number('ipv4', 1, 32), ipv6: m.number('ipv6', 1, 128) };
        }),
      };
    }),
    hosts: r.array('hosts', (h) => {
      h.known(['name', 'fqdn', 'ipv4', 'ipv6', 'interface', 'roles']);
      return {
        name: h.string('name', dnsLabel),
        fqdn: h.string('fqdn', dnsName),
        ipv4: h.string('ipv4', ipv4),
        ipv6: h.string('ipv6', ipv6),
        interface: h.string('interface', interfaceName),
        roles: h.strings('roles', (role) =>
          (ROLES as readonly string[]).includes(role) ? undefined : `is not a role (${ROLES.join(', ')})`,
        ) as HostRole[],
      };
    }),
    network: r.object('network', (n) => {
      n.known(['cni', 'ipv4NativeRoutingCidr', 'mtu', 'prefixLengths', 'gateways', 'nameservers']);
      return {
        cni: n.string('cni', supportedCni),
        ipv4NativeRoutingCidr: n.string('ipv4NativeRoutingCidr', ipv4Cidr),
        mtu: n.number('mtu', 1280, 9216),
        prefixLengths: n.object('prefixLengths', (p) => {
          p.known(['ipv4', 'ipv6']);
          return { ipv4: p.number('ipv4', 1, 32), ipv6: p.number('ipv6', 1, 128) };
        }),
        gateways: n.object('gateways', (g) => {
          g.known(['ipv4', 'ipv6']);
          return { ipv4: g.string('ipv4', ipv4), ipv6: g.string('ipv6', ipv6) };
        }),
        nameservers: n.strings('nameservers', anyIp),
      };
    }),
    vault: r.object('vault', (v) => {
      v.known(['address', 'pkiMounts', 'serviceAccountKeyPath']);
      return {
        address: v.string('address', httpsUrl),
        pkiMounts: v.object('pkiMounts', (m) => {
          m.known(['kubernetes', 'etcd', 'frontProxy']);
          return {
            kubernetes: m.string('kubernetes', vaultPath),
            etcd: m.string('etcd', vaultPath),
            frontProxy: m.string('frontProxy', vaultPath),
          };
        }),
        serviceAccountKeyPath: v.string('serviceAccountKeyPath', vaultPath),
      };
    }),
    gitops: r.object('gitops', (g) => {
      g.known(['repoURL', 'targetRevision', 'url', 'sopsAgeRecipient']);
      return {
        repoURL: g.string('repoURL', httpsUrl),
        targetRevision: g.string('targetRevision'),
        url: g.string('url', httpsUrl),
        sopsAgeRecipient: g.string('sopsAgeRecipient', ageRecipient),
      };
    }),
    sso: r.object('sso', (s) => {
      s.known(['oidcIssuerUrl', 'allowedEmails', 'gitlabApplicationId', 'operatorGroups']);
      return {
        oidcIssuerUrl: s.string('oidcIssuerUrl', httpsUrl),
        allowedEmails: s.strings('allowedEmails', email),
        gitlabApplicationId: s.string('gitlabApplicationId'),
        operatorGroups: s.strings('operatorGroups', gitlabGroup),
      };
    }),
    acme: r.object('acme', (a) => {
      a.known(['email', 'dnsZones']);
      return { email: a.string('email', email), dnsZones: a.strings('dnsZones', dnsName) };
    }),
    storage: r.object('storage', (s) => readStorage(s, rawField(data, 'storage'))),
    ssh: r.object('ssh', (s) => {
      s.known(['authorizedKeys']);
      return { authorizedKeys: s.strings('authorizedKeys', sshPublicKey, 0) };
    }),
  };
  const examples = readExamples(data, issues);
  const withExamples: ClusterInventory = { ...inventory, ...(examples === undefined ? {} : { examples }) };
  crossCheck(withExamples, issues);
  if (issues.length > 0) throw new InventoryError(issues);
  return withExamples;
}

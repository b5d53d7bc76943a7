/**
 * Address maths of the inventory and of the network constructs: IP addresses, subnets and
 * address ranges as numbers. Written out rather than
 * taken from `node:net` so that both readers accept the same text: dotted IPv4 without leading
 * zeros, IPv6 as hex groups with at most one "::" (no zone, no embedded IPv4), as
 * `nixos/lib/ip.nix` parses them. (The synth also reads the inventory in its sandbox, which
 * refuses app code calling `node:net`.)
 */

export type Family = 'ipv4' | 'ipv6';
export const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
export const FAMILY_BITS: Readonly<Record<Family, number>> = { ipv4: 32, ipv6: 128 };
export const FAMILY_NAMES: Readonly<Record<Family, string>> = { ipv4: 'IPv4', ipv6: 'IPv6' };

export interface Address {
  readonly family: Family;
  readonly value: bigint;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export function parseAddress(text: string): Address | undefined {
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
export function formatAddress({ family, value }: Address): string {
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

export const familyOf = (text: string): Family | undefined => parseAddress(text)?.family;

export function sameAddress(a: string, b: string): boolean {
  const x = parseAddress(a);
  const y = parseAddress(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value;
}

export interface Subnet {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
  /** The network address: the address with its host bits cleared. */
  readonly network: bigint;
}

export const hostBits = (subnet: { family: Family; prefix: number }) => BigInt(FAMILY_BITS[subnet.family] - subnet.prefix);

export function subnetOf(text: string): Subnet | undefined {
  const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  const address = parseAddress(match?.[1] ?? '');
  const prefix = Number(match?.[2]);
  if (!match || !address || prefix > FAMILY_BITS[address.family]) return undefined;
  const bits = BigInt(FAMILY_BITS[address.family] - prefix);
  return { text, address: match[1] ?? '', prefix, family: address.family, network: (address.value >> bits) << bits };
}

/** Why a text is not a CIDR naming a network (host bits set: with the network it likely means), or undefined. */
export function cidrProblem(value: string): string | undefined {
  const subnet = subnetOf(value);
  if (!subnet) return 'is not a CIDR (address/prefix)';
  if (parseAddress(subnet.address)?.value === subnet.network) return undefined;
  return `has host bits set: did you mean ${formatAddress({ family: subnet.family, value: subnet.network })}/${subnet.prefix}?`;
}

/** The subnets of a non-empty list of CIDRs, or undefined when it is empty or any entry is not a CIDR naming a network. */
export function subnets(values: readonly string[]): Subnet[] | undefined {
  const parsed: Subnet[] = [];
  for (const text of values) {
    const subnet = subnetOf(text);
    if (cidrProblem(text) !== undefined || !subnet) return undefined;
    parsed.push(subnet);
  }
  return parsed.length > 0 ? parsed : undefined;
}

export function contains(subnet: Subnet, address: string): boolean {
  const parsed = parseAddress(address);
  if (!parsed || parsed.family !== subnet.family) return false;
  const bits = hostBits(subnet);
  return parsed.value >> bits === subnet.network >> bits;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  const bits = hostBits({ family: a.family, prefix: Math.min(a.prefix, b.prefix) });
  return a.network >> bits === b.network >> bits;
}

export const LINK_LOCAL_V6 = subnetOf('fe80::/10') as Subnet;

/** An inclusive range of addresses of one family. */
export interface AddressRange {
  readonly family: Family;
  readonly first: bigint;
  readonly last: bigint;
}

/** The range of a CIDR (its network's whole block) or of a range text `first-last`, or undefined when it is neither. */
export function addressRange(text: string): AddressRange | undefined {
  if (text.includes('/')) {
    const subnet = subnetOf(text);
    if (!subnet) return undefined;
    return { family: subnet.family, first: subnet.network, last: subnet.network + (1n << hostBits(subnet)) - 1n };
  }
  const [first, last, ...rest] = text.split('-');
  const a = parseAddress(first ?? '');
  const b = parseAddress(last ?? '');
  if (rest.length > 0 || !a || !b || a.family !== b.family || a.value > b.value) return undefined;
  return { family: a.family, first: a.value, last: b.value };
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

export function inRange(range: AddressRange, address: string): boolean {
  const parsed = parseAddress(address);
  return parsed !== undefined && parsed.family === range.family && parsed.value >= range.first && parsed.value <= range.last;
}

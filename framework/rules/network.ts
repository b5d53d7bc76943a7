/**
 * Host names, CIDRs and age recipients, once for the whole repository: the library, the
 * inventory readers and the engine all check these with the functions here.
 */
import { isIP } from 'node:net';
import { dns1123LabelError } from './metadata.js';

/** A lowercase DNS label (RFC 1123): at most 63 letters, digits and "-", not starting or ending with "-". */
export function isDnsLabel(value: string): boolean {
  return dns1123LabelError(value) === undefined;
}

export interface DnsNameOptions {
  /** Fewest labels the name must have (`2` refuses a bare `localhost`). @default 1 */
  readonly minLabels?: number;
  /** Accept one leading `*.` label, as Ingress hosts may carry. @default false */
  readonly wildcard?: boolean;
}

/** A lowercase DNS name: labels as `isDnsLabel`, separated by dots, at most 253 characters. */
export function isDnsName(value: string, options: DnsNameOptions = {}): boolean {
  const name = options.wildcard && value.startsWith('*.') ? value.slice(2) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.length >= (options.minLabels ?? 1) && labels.every(isDnsLabel);
}

/** What is wrong with `<address>/<prefix>` (IPv4 or IPv6), or undefined for a CIDR. */
export function cidrError(value: string): string | undefined {
  const [address = '', prefix = '', ...rest] = value.split('/');
  const family = isIP(address);
  if (rest.length > 0 || family === 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) {
    return 'is not a CIDR (address/prefix)';
  }
  return undefined;
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

/** Whether a lower-case bech32 string's checksum holds (BIP 173): a mistyped key fails it. */
function bech32ChecksumHolds(value: string): boolean {
  const separator = value.lastIndexOf('1');
  const prefix = value.slice(0, separator);
  let check = 1;
  const step = (digit: number) => {
    const top = check >>> 25;
    check = ((check & 0x1ffffff) << 5) ^ digit;
    for (let bit = 0; bit < 5; bit += 1) if ((top >>> bit) & 1) check ^= BECH32_GENERATOR[bit] as number;
  };
  for (const char of prefix) step(char.charCodeAt(0) >>> 5);
  step(0);
  for (const char of prefix) step(char.charCodeAt(0) & 31);
  for (const char of value.slice(separator + 1)) step(BECH32.indexOf(char));
  return check === 1;
}

/** An age X25519 public key: `age1` and 58 bech32 characters whose checksum holds. */
export function isAgeRecipient(value: string): boolean {
  return /^age1[02-9ac-hj-np-z]{58}$/.test(value) && bech32ChecksumHolds(value);
}

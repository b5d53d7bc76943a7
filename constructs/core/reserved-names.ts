/**
 * Domains reserved for documentation and testing (RFC 2606, RFC 6761): nobody receives mail
 * there, and Let's Encrypt refuses an ACME account whose contact address is at one.
 */
const RESERVED_SECOND_LEVEL = ['example.com', 'example.net', 'example.org'];
const RESERVED_TOP_LEVEL = ['example', 'test', 'invalid', 'localhost'];

/** Whether a domain name is, or is below, a reserved domain. */
export function isReservedDomain(domain: string): boolean {
  const name = domain.toLowerCase().replace(/\.$/, '');
  const top = name.slice(name.lastIndexOf('.') + 1);
  return RESERVED_TOP_LEVEL.includes(top) || RESERVED_SECOND_LEVEL.some((reserved) => name === reserved || name.endsWith(`.${reserved}`));
}

/** Whether an e-mail address is at a reserved domain. */
export function isReservedAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  return at >= 0 && isReservedDomain(address.slice(at + 1));
}

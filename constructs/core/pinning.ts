/** Version strings that name an exact release: `1.2.3` or `v1.2.3`, optionally with a pre-release or build. */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

/** Why a version is not an exact pin, or undefined when it is. */
export function floatingVersionError(version: string): string | undefined {
  if (EXACT_VERSION.test(version)) return undefined;
  return `version "${version}" is not an exact release (expected e.g. 1.2.3 or v1.2.3; no ranges, "latest", branches or HEAD)`;
}

/** An image reference pinned by tag (not `latest`) or digest. */
export function floatingImageError(image: string): string | undefined {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon === -1) return `image "${image}" has no tag or digest`;
  const tag = lastSegment.slice(colon + 1);
  if (tag === 'latest' || tag === 'main' || tag === 'master' || tag === 'next') {
    return `image "${image}" uses the floating tag "${tag}"`;
  }
  return undefined;
}

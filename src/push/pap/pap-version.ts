/**
 * Which PAP version a control entity speaks (docs/standards.md §2.1): the DOCTYPE public identifier
 * (`-//WAPFORUM//DTD PAP 2.0//EN`) or system identifier (`…/pap_2.1.dtd`) decides; without a DOCTYPE the
 * `<?wap-pap-ver supported-versions="2.0,1.*"?>` PI (PAP 2.0 §8.2) names what the PI speaks and the highest
 * version both sides support is used; with neither, PAP 2.0 is assumed (what a 2.x PPG does).
 * Within a major version minor revisions are compatible (PAP 2.0 §8.1), so `2.4` reads as 2.3 and `1.1`
 * as 1.0; any other major → PAP_VERSION (PAP 3002).
 */
import { AgentError, ErrorCodes } from '../../errors.js';
import { SUPPORTED_PAP_VERSIONS, type PapVersion } from './pap-types.js';
import type { XmlProlog } from './xml-prolog.js';

export const DEFAULT_PAP_VERSION: PapVersion = '2.0';

/** Maps `major.minor` to a supported version, or undefined when the major is not 1 or 2. */
function supported(major: number, minor: number): PapVersion | undefined {
  if (major === 1) return '1.0';
  if (major !== 2) return undefined;
  return SUPPORTED_PAP_VERSIONS.find((v) => v === `2.${minor}`) ?? (minor > 3 ? '2.3' : undefined);
}

function versionFromIdentifier(doctype: NonNullable<XmlProlog['doctype']>): { major: number; minor: number } | undefined {
  const fromPublic = /DTD\s+PAP\s+(\d+)\.(\d+)/i.exec(doctype.publicId ?? '');
  const fromSystem = /pap[_-]?v?(\d+)[._](\d+)/i.exec(doctype.systemId ?? '');
  const match = fromPublic ?? fromSystem;
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

/** Picks the highest supported version from a `supported-versions` list (`2.0,1.*`). */
function versionFromSupportedList(list: string): PapVersion | undefined {
  const candidates: PapVersion[] = [];
  for (const item of list.split(',').map((s) => s.trim())) {
    const match = /^(\d+)\.(\d+|\*)$/.exec(item);
    if (!match) continue;
    const major = Number(match[1]);
    if (match[2] === '*') {
      const inMajor = SUPPORTED_PAP_VERSIONS.filter((v) => v.startsWith(`${major}.`));
      candidates.push(...inMajor);
    } else {
      const version = supported(major, Number(match[2]));
      if (version) candidates.push(version);
    }
  }
  return candidates.sort().at(-1);
}

/** Decides the version; throws PAP_VERSION when the document names only versions this agent lacks. */
export function detectPapVersion(prolog: XmlProlog): PapVersion {
  if (prolog.doctype) {
    const declared = versionFromIdentifier(prolog.doctype);
    if (declared) {
      const version = supported(declared.major, declared.minor);
      if (!version) {
        throw new AgentError(ErrorCodes.PAP_VERSION, `PAP ${declared.major}.${declared.minor} is not supported`, 'DOCTYPE');
      }
      return version;
    }
  }
  if (prolog.supportedVersions !== undefined) {
    const version = versionFromSupportedList(prolog.supportedVersions);
    if (!version) {
      throw new AgentError(ErrorCodes.PAP_VERSION, `none of the PAP versions "${prolog.supportedVersions}" is supported`, 'wap-pap-ver');
    }
    return version;
  }
  return DEFAULT_PAP_VERSION;
}

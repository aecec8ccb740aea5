/**
 * What the SIP engine cannot carry, decided at intake: a push the engine could never send is answered
 * at once (PAP 3010 with the bearer hint) instead of 1001 followed by an asynchronous hand-back.
 * Pure: looks at the content entity and the engine's declared capabilities only.
 */
import type { EngineCapabilities } from '../../sip/port.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isCarriedText(body: Buffer): boolean {
  if (body.includes(0)) return false;
  try {
    strictUtf8.decode(body);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `engine` cannot carry this body, in words naming the limit, or undefined when it can.
 * A text-only engine (drachtio: bodies travel as C strings) refuses NUL bytes and invalid UTF-8, which
 * every WBXML body has; an engine with a body cap refuses anything larger.
 */
export function engineLimitFor(
  body: Buffer,
  contentType: string,
  engine: { name: string; capabilities: EngineCapabilities },
): string | undefined {
  const { binaryBodies, maxBodyBytes } = engine.capabilities;
  if (maxBodyBytes !== undefined && body.length > maxBodyBytes) {
    return `the ${engine.name} engine carries bodies up to ${maxBodyBytes} bytes; this ${contentType} body has ${body.length}`;
  }
  if (!binaryBodies && !isCarriedText(body)) {
    return `the ${engine.name} engine carries UTF-8 text bodies only; this ${contentType} body is binary`;
  }
  return undefined;
}

/**
 * XML namespaces a presence document may use (docs/standards.md §4.2). Vendors bind them to any
 * prefix, so the parser matches on these URIs, never on prefixes.
 */
export const PidfNs = {
  /** RFC 3863 PIDF core: presence, tuple, status, basic, contact, note, timestamp. */
  pidf: 'urn:ietf:params:xml:ns:pidf',
  /** RFC 4479 data model: person, device, deviceID. */
  dataModel: 'urn:ietf:params:xml:ns:pidf:data-model',
  /** RFC 4480 RPID: activities, service-class, ... */
  rpid: 'urn:ietf:params:xml:ns:pidf:rpid',
  /** RFC 5196 capabilities: servcaps, devcaps. */
  caps: 'urn:ietf:params:xml:ns:pidf:caps',
  /** OMA Presence SIMPLE extensions: service-description, willingness, network-availability, ... */
  oma: 'urn:oma:xml:prs:pidf:oma-pres',
} as const;

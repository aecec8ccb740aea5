import { parsePresence } from '../../src/presence/pidf-parser.js';
import { describeXmlParserFuzz } from '../support/xml-parser-fuzz.js';

const pieces = [
  '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">',
  '</presence>',
  '<tuple id="t">',
  '</tuple>',
  '<status><basic>open</basic></status>',
  '<basic>closed</basic>',
  '<op:service-description xmlns:op="urn:oma:xml:prs:pidf:oma-pres"><op:service-id>x</op:service-id></op:service-description>',
  '<c:servcaps xmlns:c="urn:ietf:params:xml:ns:pidf:caps"><c:methods><c:notsupported><c:MESSAGE/></c:notsupported></c:methods></c:servcaps>',
  '<pdm:person xmlns:pdm="urn:ietf:params:xml:ns:pidf:data-model" id="p">',
  '</pdm:person>',
  '<x:y>',
  '&amp;',
  '&#0;',
  '&#x110000;',
  '&bogus;',
  '<![CDATA[ <]]>',
  '<!-- c -->',
  '<?pi x?>',
  '<!DOCTYPE x>',
  '<contact priority="0.5">sip:a@b</contact>',
  '"',
  '<',
  '>',
  '/>',
  'xmlns:q=""',
  '<__proto__>',
  '<constructor/>',
];

describeXmlParserFuzz({
  name: 'parsePresence',
  parse: parsePresence,
  code: 'PIDF_INVALID',
  contentType: 'application/pidf+xml',
  maxDepth: 16,
  pieces,
  open: pieces[0] as string,
  close: pieces[1] as string,
  inner: pieces,
});

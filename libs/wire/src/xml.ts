import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AzureError } from './errors';
import type { WireResponse } from './request';

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for XML content and attributes; characters XML 1.0 cannot carry become U+FFFD. */
export function escapeXml(text: string): string {
  return text
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c])
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD');
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

/** An XML answer: the declaration, then the document's root element, as `application/xml`. */
export const xmlResponse = (root: string, status = 200, headers: WireResponse['headers'] = {}): WireResponse => ({
  status,
  headers: { ...headers, 'content-type': 'application/xml' },
  body: `${XML_DECLARATION}${root}`,
});

/** `<Name>text</Name>`, or `<Name />` when the text is empty. */
export function element(name: string, text: string | number | undefined): string {
  if (text === undefined || text === '') return `<${name} />`;
  return `<${name}>${escapeXml(String(text))}</${name}>`;
}

const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** True when the text has characters XML 1.0 cannot carry (U+FFFE and U+FFFF are legal in file names). */
export const needsEncoding = (text: string): boolean => NOT_XML.test(text);

/** A name in a listing: as text, or percent-encoded and marked `Encoded="true"` when XML cannot carry it (the SDK decodes it). */
export function encodedElement(name: string, text: string): string {
  if (!needsEncoding(text)) return element(name, text);
  return `<${name} Encoded="true">${escapeXml(encodeURIComponent(text))}</${name}>`;
}

export function errorBody(
  code: string,
  message: string,
  details: Record<string, string>,
  requestId: string,
  now: Date,
): string {
  // Azure appends the request id and time to every message; support staff look for them.
  const fullMessage = `${message}\nRequestId:${requestId}\nTime:${now.toISOString().replace('Z', '0000Z')}`;
  const extra = Object.entries(details)
    .map(([name, value]) => element(name, value))
    .join('');
  return `${XML_DECLARATION}<Error>${element('Code', code)}${element('Message', fullMessage)}${extra}</Error>`;
}

const invalidXml = () => new AzureError(400, 'InvalidXmlDocument', 'XML specified is not syntactically valid.');

/**
 * What parseXmlBody gives for an element: its text ('' when empty), or its children by name, a
 * repeated or array-named child as an array.
 */
export type XmlNode = string | XmlElement;
export interface XmlElement {
  [name: string]: XmlValue;
}
export type XmlValue = XmlNode | XmlNode[] | undefined;

/** The child `name` of `node`, or undefined when `node` is text, repeated or absent. */
export const xmlChild = (node: XmlValue, name: string): XmlValue =>
  typeof node === 'object' && !Array.isArray(node) ? node[name] : undefined;

/** The text of `value`, or undefined when it is an element, repeated or absent. */
export const xmlText = (value: XmlValue): string | undefined => (typeof value === 'string' ? value : undefined);

/** The occurrences of an element: none when absent, one when it occurs once. */
export const xmlList = (value: XmlValue): XmlNode[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * A request body as a tree of elements (text kept as strings, attributes dropped), with the named
 * elements always arrays; 400 InvalidXmlDocument when it is not well-formed XML. DOCTYPE
 * declarations are refused: a request body has no use for entity definitions.
 */
export function parseXmlBody(body: Buffer, arrays: string[]): XmlElement {
  const text = body.toString('utf8');
  if (/<!DOCTYPE/i.test(text) || XMLValidator.validate(text) !== true) throw invalidXml();
  const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    isArray: (name) => arrays.includes(name),
  });
  const tree: unknown = parser.parse(text);
  if (tree === null || typeof tree !== 'object') throw invalidXml();
  // With attributes ignored and tag values unparsed, fast-xml-parser builds only strings, objects and arrays.
  return tree as XmlElement;
}

/** 400 InvalidXmlNodeValue: well-formed XML with a value Azure would refuse. */
export const invalidXmlNode = (
  node: string,
  message = 'The value for one of the XML nodes is not in the correct format.',
) => new AzureError(400, 'InvalidXmlNodeValue', message, { XmlNodeName: node });

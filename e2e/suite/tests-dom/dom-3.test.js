import { domCase } from '../lib/dom-case.cjs';
domCase(3);

import { domCase } from '../lib/dom-case.cjs';
domCase(2);

require('../dom-case.cjs')(5);

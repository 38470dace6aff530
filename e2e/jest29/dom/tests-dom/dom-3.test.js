require('../dom-case.cjs')(3);

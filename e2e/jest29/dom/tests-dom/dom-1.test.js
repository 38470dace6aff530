require('../dom-case.cjs')(1);

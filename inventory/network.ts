// The inventory's address maths lives in the framework, where constructs reach it too.
export * from '../framework/addresses.js';

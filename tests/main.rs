mod cli;
mod common;
mod errors;
mod rk45_oracle;
mod steppers;

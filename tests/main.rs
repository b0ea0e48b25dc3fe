mod cli;
mod common;
mod data;
mod errors;
mod rk45_oracle;
mod steppers;
mod tomography;

mod of;

fn main() {}
